/** An error the CLI reports as one line (no stack trace) with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 3,
  ) {
    super(message);
  }
}
