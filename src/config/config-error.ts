// A mistake in the config file, told as `file:line: [section] key: problem` so an admin can go straight to it.

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    /** 1-based line of the offending key or section; 0 when the problem is the file as a whole. */
    readonly line: number,
    /** `[section] key`, `[section]`, or '' for the file as a whole. */
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${line > 0 ? `${file}:${line}` : file}: ${where ? `${where}: ` : ''}${problem}`);
  }
}
