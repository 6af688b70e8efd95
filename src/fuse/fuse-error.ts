// How a FUSE handler fails with a chosen errno: the number goes to the kernel as it is.

export class FuseError extends Error {
  override name = 'FuseError';

  constructor(
    /** The Linux errno the application gets (positive). */
    readonly errno: number,
    /** Its name, e.g. 'EACCES', as Node's system errors carry it. */
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
