/** The CLI's exit codes: 0 success, 1 a failure, 2 bad input (arguments, options, values). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
