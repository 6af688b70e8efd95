// File names and symlink targets travel as byte strings: one character per byte (latin1), the form the FUSE
// binding passes them in, so a name that is not valid UTF-8 reaches the server unchanged. Names kidfs itself
// takes from configuration or Kubernetes (export subdirectories) are ordinary strings: this gives their bytes.

/** The byte string of a name written as text (its UTF-8 bytes). */
export function byteName(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
