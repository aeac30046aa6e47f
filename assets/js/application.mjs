// Progressive enhancement only: every page works without this file.
// No HTML sinks (innerHTML and friends): the CSP requires Trusted Types for them.
import { initAll } from './govuk-frontend.min.js';

initAll();
