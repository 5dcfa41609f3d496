// PDF.js renders with ArrayBuffer.prototype.transferToFixedLength (Node 21+); Node 20 has
// structuredClone's transfer, which detaches the same way.
const bufferProto = ArrayBuffer.prototype as ArrayBuffer & {
  transferToFixedLength?: (length?: number) => ArrayBuffer;
};
if (!bufferProto.transferToFixedLength)
  Object.defineProperty(bufferProto, 'transferToFixedLength', {
    value(this: ArrayBuffer, length?: number): ArrayBuffer {
      const moved = structuredClone(this, { transfer: [this] });
      if (length === undefined || length === moved.byteLength) return moved;
      const out = new Uint8Array(length);
      out.set(new Uint8Array(moved, 0, Math.min(length, moved.byteLength)));
      return out.buffer;
    },
  });

export {};
