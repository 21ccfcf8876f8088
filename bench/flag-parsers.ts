import { InvalidArgumentError } from 'commander';

/** A whole number above 0, for a bench's command-line flag; commander prints the error. */
export function positiveInt(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) {
    throw new InvalidArgumentError('expected an integer > 0.');
  }
  return number;
}
