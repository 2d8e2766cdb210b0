#!/usr/bin/env node
import { main } from '../dist/main.js';

// A reader that went away (`optimal vault ls | head -1`) ends the command quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`optimal: internal: ${err?.stack ?? err}\n`);
    process.exitCode = 70;
  },
);
