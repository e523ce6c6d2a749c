// Multipart bodies for app.inject, built by hand so a test controls every byte.

/** A multipart body with one file field. */
export function multipart(field: string, filename: string, type: string, bytes: Buffer) {
  const boundary = `----cqtest${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\n` +
      `Content-Type: ${type}\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    payload: Buffer.concat([head, bytes, tail]),
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
  };
}
