/** A file to put into a container before it starts, owned by `uid`:`gid`. */
export interface ArchiveFile {
  /** Absolute path inside the container. */
  path: string;
  content: string;
  mode: number;
  uid: number;
  gid: number;
}

const BLOCK = 512;

/**
 * A tar archive (POSIX ustar) of `files`, for Docker's put-archive, which keeps the owner each
 * entry names. [design] testcontainers' own copy names no owner, so its files belong to root in
 * the container, and a service running as uid 1000 could read a key of mode 0400 only if it
 * were readable by all; the engine's option to chown on copy fails for a numeric image user on
 * some engines. Parent folders are not entries: they must exist, or the engine makes them.
 */
export function tarArchive(files: readonly ArchiveFile[]): Buffer {
  const blocks: Buffer[] = [];
  for (const file of files) {
    const body = Buffer.from(file.content, 'utf8');
    blocks.push(header(file, body.length), body, Buffer.alloc(padding(body.length)));
  }
  // The end of the archive: two empty blocks.
  blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}

function header(file: ArchiveFile, size: number): Buffer {
  const name = file.path.replace(/^\/+/, '');
  // ustar splits a long path into a prefix (155 bytes) and a name (100 bytes) at a slash.
  const cut = name.length > 100 ? name.lastIndexOf('/', 155) : -1;
  const [prefix, base] = cut < 0 ? ['', name] : [name.slice(0, cut), name.slice(cut + 1)];
  if (Buffer.byteLength(base) > 100 || Buffer.byteLength(prefix) > 155) {
    throw new Error(`path too long for a tar entry: ${file.path}`);
  }
  const block = Buffer.alloc(BLOCK);
  const put = (offset: number, length: number, value: string) =>
    block.write(value, offset, length, 'utf8');
  const octal = (offset: number, length: number, value: number) =>
    put(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  put(0, 100, base);
  octal(100, 8, file.mode);
  octal(108, 8, file.uid);
  octal(116, 8, file.gid);
  octal(124, 12, size);
  octal(136, 12, Math.floor(Date.now() / 1000));
  put(148, 8, ' '.repeat(8)); // the checksum counts its own field as spaces
  put(156, 1, '0'); // a regular file
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  put(345, 155, prefix);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;
