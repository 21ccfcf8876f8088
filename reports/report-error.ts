/**
 * Errors of the report tools carry a stable code (DESIGN.md §3); tests assert codes, the CLI prints
 * `code: message` on one line.
 */
export type ReportErrorCode =
  /** The file could not be read or is not JSON. */
  | 'RESULTS_UNREADABLE'
  /** The file is JSON but not a valid `mqfed.results/v1` document; the message names the field. */
  | 'RESULTS_INVALID'
  /** A variant's encoded histogram could not be decoded. */
  | 'HISTOGRAM_INVALID'
  /** Runs of different scenarios cannot be compared. */
  | 'SCENARIO_MISMATCH';

export class ReportError extends Error {
  readonly code: ReportErrorCode;

  constructor(code: ReportErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ReportError';
    this.code = code;
  }
}
