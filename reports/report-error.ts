/**
 * Errors of the report tools carry a stable code (DESIGN.md §3); tests assert codes, the CLI prints
 * `mqfed-report: CODE: message` on one line. Every one of them is bad input, not a regression:
 * the CLI exits with {@link BAD_INPUT_EXIT_CODE} for it, so CI can tell the two apart.
 */
export type ReportErrorCode =
  /** The file could not be read or is not JSON. */
  | 'RESULTS_UNREADABLE'
  /** The file is JSON but not a valid results document; the message names the field. */
  | 'RESULTS_INVALID'
  /** A variant's encoded histogram could not be decoded. */
  | 'HISTOGRAM_INVALID'
  /** Runs of different scenarios cannot be compared. */
  | 'SCENARIO_MISMATCH'
  /** The report or compare page could not be written where asked. */
  | 'OUTPUT_UNWRITABLE'
  /** The command line itself: an unknown flag, a bad value, a missing argument. */
  | 'USAGE';

/** Exit code of the report commands for bad input; 1 is kept for a regression. */
export const BAD_INPUT_EXIT_CODE = 2;

export class ReportError extends Error {
  readonly code: ReportErrorCode;
  /** What a command line exits with for this error. */
  readonly exitCode: number = BAD_INPUT_EXIT_CODE;

  constructor(code: ReportErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ReportError';
    this.code = code;
  }
}
