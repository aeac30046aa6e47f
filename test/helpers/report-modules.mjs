// Preloaded (`node --import`) into a server a test starts: at exit, writes to the file named by REPORT_MODULES_FILE
// the Node built-in modules the process loaded (process.moduleLoadList) and which of ICU's date and segmentation
// services it used (each touches data inside the node binary that then stays resident: docs/adr/0032).
import { writeFileSync } from 'node:fs';

const file = process.env.REPORT_MODULES_FILE;
if (file !== undefined && file !== '') {
  const intl = new Set();
  for (const name of ['DateTimeFormat', 'Segmenter', 'RelativeTimeFormat', 'DurationFormat']) {
    const original = Intl[name];
    if (typeof original !== 'function') continue;
    Intl[name] = new Proxy(original, {
      construct(target, args, newTarget) {
        intl.add(`Intl.${name}`);
        return Reflect.construct(target, args, newTarget);
      },
      apply(target, self, args) {
        intl.add(`Intl.${name}`);
        return Reflect.apply(target, self, args);
      },
    });
  }
  for (const name of ['toLocaleString', 'toLocaleDateString', 'toLocaleTimeString']) {
    const original = Date.prototype[name];
    // eslint-disable-next-line no-extend-native -- wraps an existing method, only in a server a test starts
    Date.prototype[name] = function (...args) {
      intl.add(`Date.prototype.${name}`);
      return original.apply(this, args);
    };
  }
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify({ modules: process.moduleLoadList, intl: [...intl] }));
  });
}
