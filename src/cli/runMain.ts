/**
 * Runs an async command-line entry point: its result becomes the exit code. A command that throws may
 * leave servers or timers behind, so it prints the error and exits rather than wait for them.
 */
export function runMain(main: (argv: readonly string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    },
  );
}
