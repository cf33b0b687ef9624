/**
 * A ZIP archive written front to back, for XLSX: each entry is deflated as its bytes arrive and
 * followed by a data descriptor (its CRC and sizes, known only at its end), and the central
 * directory comes last, so nothing is ever held whole. Entries must stay under 4 GiB each (the
 * XLSX writer starts a new sheet well before); archives past 4 GiB or 65,535 entries get the
 * ZIP64 end records, which every current reader understands.
 *
 * Bytes go out through `push`; `write` resolves once the compressor can take more, which is how
 * backpressure reaches the producer.
 */
import zlib from "node:zlib";

/** The largest size a plain (non-ZIP64) entry can record. */
export const ZIP_ENTRY_MAX_BYTES = 0xffff_ffff;

interface EntryRecord {
  name: Buffer;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
}

const FLAGS = 0x0808; // bit 3: sizes in a data descriptor; bit 11: UTF-8 names
const DEFLATE = 8;
const OUT_BYTES = 64 * 1024;

export class ZipStream {
  private offset = 0;
  /** Output gathered into writes of about OUT_BYTES (deflate hands out a few KiB at a time). */
  private out: Buffer[] = [];
  private outBytes = 0;
  private readonly entries: EntryRecord[] = [];
  private current: {
    name: Buffer;
    offset: number;
    crc: number;
    size: number;
    compressed: number;
    deflate: zlib.DeflateRaw;
    ended: Promise<void>;
  } | null = null;
  private readonly time: number;
  private readonly date: number;

  constructor(
    private readonly push: (chunk: Buffer) => void,
    private readonly level = zlib.constants.Z_BEST_SPEED,
    now = new Date(),
  ) {
    // MS-DOS time and date, local fields as UTC.
    this.time = (now.getUTCHours() << 11) | (now.getUTCMinutes() << 5) | Math.floor(now.getUTCSeconds() / 2);
    this.date = ((Math.max(1980, now.getUTCFullYear()) - 1980) << 9) | ((now.getUTCMonth() + 1) << 5) | now.getUTCDate();
  }

  private emit(chunk: Buffer): void {
    this.offset += chunk.length;
    this.out.push(chunk);
    this.outBytes += chunk.length;
    if (this.outBytes >= OUT_BYTES) this.flushOut();
  }

  /** Hands on the gathered output as one buffer. */
  private flushOut(): void {
    if (this.outBytes === 0) return;
    const chunk = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    this.push(chunk);
  }

  /** Bytes of the open entry so far, before compression. */
  get entryBytes(): number {
    return this.current?.size ?? 0;
  }

  startEntry(name: string): void {
    if (this.current) throw new Error(`zip entry ${this.current.name.toString()} is still open`);
    const nameBytes = Buffer.from(name, "utf8");
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(FLAGS, 6);
    header.writeUInt16LE(DEFLATE, 8);
    header.writeUInt16LE(this.time, 10);
    header.writeUInt16LE(this.date, 12);
    // CRC and sizes (14–25) stay 0: they follow in the data descriptor.
    header.writeUInt16LE(nameBytes.length, 26);
    const offset = this.offset;
    this.emit(Buffer.concat([header, nameBytes]));
    const deflate = zlib.createDeflateRaw({ level: this.level });
    const entry = { name: nameBytes, offset, crc: 0, size: 0, compressed: 0, deflate, ended: Promise.resolve() };
    deflate.on("data", (chunk: Buffer) => {
      entry.compressed += chunk.length;
      this.emit(chunk);
    });
    entry.ended = new Promise<void>((resolve, reject) => {
      deflate.once("end", resolve);
      deflate.once("error", reject);
    });
    // Awaited by endEntry; an abandoned archive's compressor error is not an unhandled rejection.
    entry.ended.catch(() => {});
    this.current = entry;
  }

  /** Adds bytes to the open entry; resolves when the compressor can take more. */
  async write(data: Buffer): Promise<void> {
    const entry = this.current;
    if (!entry) throw new Error("no zip entry is open");
    entry.crc = crc32(data, entry.crc);
    entry.size += data.length;
    if (entry.size > ZIP_ENTRY_MAX_BYTES) throw new Error(`zip entry ${entry.name.toString()} passed 4 GiB`);
    if (!entry.deflate.write(data)) await new Promise<void>((resolve) => entry.deflate.once("drain", resolve));
  }

  async endEntry(): Promise<void> {
    const entry = this.current;
    if (!entry) throw new Error("no zip entry is open");
    entry.deflate.end();
    await entry.ended;
    if (entry.compressed > ZIP_ENTRY_MAX_BYTES) throw new Error(`zip entry ${entry.name.toString()} passed 4 GiB compressed`);
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(entry.crc, 4);
    descriptor.writeUInt32LE(entry.compressed, 8);
    descriptor.writeUInt32LE(entry.size, 12);
    this.emit(descriptor);
    this.entries.push({ name: entry.name, crc: entry.crc, compressed: entry.compressed, size: entry.size, offset: entry.offset });
    this.current = null;
  }

  /** A small entry given whole. */
  async addEntry(name: string, content: string): Promise<void> {
    this.startEntry(name);
    await this.write(Buffer.from(content, "utf8"));
    await this.endEntry();
  }

  /** Writes the central directory and the end records; the archive is complete after it. */
  finish(): void {
    if (this.current) throw new Error(`zip entry ${this.current.name.toString()} is still open`);
    const directoryOffset = this.offset;
    for (const entry of this.entries) {
      const farOffset = entry.offset > ZIP_ENTRY_MAX_BYTES;
      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE(farOffset ? 45 : 20, 4); // made by: 2.0 (4.5 with ZIP64), MS-DOS attributes
      header.writeUInt16LE(farOffset ? 45 : 20, 6);
      header.writeUInt16LE(FLAGS, 8);
      header.writeUInt16LE(DEFLATE, 10);
      header.writeUInt16LE(this.time, 12);
      header.writeUInt16LE(this.date, 14);
      header.writeUInt32LE(entry.crc, 16);
      header.writeUInt32LE(entry.compressed, 20);
      header.writeUInt32LE(entry.size, 24);
      header.writeUInt16LE(entry.name.length, 28);
      header.writeUInt16LE(farOffset ? 12 : 0, 30);
      header.writeUInt32LE(farOffset ? 0xffff_ffff : entry.offset, 42);
      const parts = [header, entry.name];
      if (farOffset) {
        // ZIP64 extended information: only the field marked 0xFFFFFFFF above, the offset.
        const extra = Buffer.alloc(12);
        extra.writeUInt16LE(0x0001, 0);
        extra.writeUInt16LE(8, 2);
        extra.writeBigUInt64LE(BigInt(entry.offset), 4);
        parts.push(extra);
      }
      this.emit(Buffer.concat(parts));
    }
    const directorySize = this.offset - directoryOffset;
    const zip64 = this.entries.length > 0xffff || directoryOffset > ZIP_ENTRY_MAX_BYTES || directorySize > ZIP_ENTRY_MAX_BYTES;
    if (zip64) {
      const record = Buffer.alloc(56);
      record.writeUInt32LE(0x06064b50, 0);
      record.writeBigUInt64LE(44n, 4);
      record.writeUInt16LE(45, 12);
      record.writeUInt16LE(45, 14);
      record.writeBigUInt64LE(BigInt(this.entries.length), 24);
      record.writeBigUInt64LE(BigInt(this.entries.length), 32);
      record.writeBigUInt64LE(BigInt(directorySize), 40);
      record.writeBigUInt64LE(BigInt(directoryOffset), 48);
      const recordOffset = this.offset;
      this.emit(record);
      const locator = Buffer.alloc(20);
      locator.writeUInt32LE(0x07064b50, 0);
      locator.writeBigUInt64LE(BigInt(recordOffset), 8);
      locator.writeUInt32LE(1, 16);
      this.emit(locator);
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(Math.min(this.entries.length, 0xffff), 8);
    end.writeUInt16LE(Math.min(this.entries.length, 0xffff), 10);
    end.writeUInt32LE(zip64 ? 0xffff_ffff : directorySize, 12);
    end.writeUInt32LE(zip64 ? 0xffff_ffff : directoryOffset, 16);
    this.emit(end);
    this.flushOut();
  }

  /** Stops the open entry's compressor (the archive is abandoned). */
  destroy(): void {
    this.current?.deflate.destroy();
    this.current = null;
  }
}

let crcTable: Int32Array | undefined;

/** CRC-32 (ZIP's): zlib's own where the runtime has it (Node ≥ 20.15), else a table. */
function crc32(data: Buffer, previous: number): number {
  const native = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;
  if (native) return native(data, previous);
  crcTable ??= Int32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c;
  });
  let crc = ~previous;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
