/**
 * The CLI's exit codes: 0 success, 1 a failure, 2 bad input (arguments, options, values) — read
 * from the error catalogue, which gives every error code its exit code.
 */
import { ERROR_CATALOGUE } from '../errors/error-codes.ts';

export const EXIT_FAILURE = ERROR_CATALOGUE.INTERNAL_ERROR.exit;
export const EXIT_USAGE = ERROR_CATALOGUE.INVALID_INPUT.exit;
