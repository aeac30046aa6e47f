// Preloaded (`node --import`) into a server a test starts: at exit, writes the Node built-in modules the process
// loaded (process.moduleLoadList) to the file named by REPORT_MODULES_FILE.
import { writeFileSync } from 'node:fs';

const file = process.env.REPORT_MODULES_FILE;
if (file !== undefined && file !== '') {
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify(process.moduleLoadList));
  });
}
