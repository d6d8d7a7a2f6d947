// node_console.js - console.log, console.error and process.stdout.write.
// Sets exit code 3, so the test can check that it passes through `ulog run`.
for (let i = 0; i < 200; i++) console.log(`console.log line ${String(i).padStart(3, '0')}`);
console.error('console.error line');
console.log('formatted %d and %s', 42, 'text');
process.stdout.write('a line in ');
process.stdout.write('two writes\n');
console.error('error with\nan embedded newline');
console.log('last console.log line');
process.exitCode = 3;
