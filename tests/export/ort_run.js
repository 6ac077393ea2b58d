// Runs an ONNX model in ONNX Runtime (the npm package onnxruntime-node, CPU, one thread) on a
// float32 .npy batch and writes every graph output as OUT_DIR/<output name>.npy, for the export
// tests to compare with Footprint's outputs. Prints the ONNX Runtime version.
// Usage: node ort_run.js MODEL.onnx INPUT.npy OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// A little-endian float32 C-order .npy (versions 1 to 3).
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const major = buf[6];
  const headerBytes = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerBytes);
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) {
    throw new Error(file + ': expected little-endian float32 in C order, header ' + header);
  }
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter((s) => s.length)
                    .map(Number);
  const offset = start + headerBytes;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; ++i) data[i] = buf.readFloatLE(offset + 4 * i);
  return {shape, data};
}

function writeNpy(file, dims, data) {
  const shape = dims.length === 1 ? '(' + dims[0] + ',)' : '(' + dims.join(', ') + ')';
  let header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ', }';
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(4 * data.length);
  for (let i = 0; i < data.length; ++i) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const [model, input, outDir] = process.argv.slice(2);
  if (!outDir) throw new Error('usage: node ort_run.js MODEL.onnx INPUT.npy OUT_DIR');
  const session = await ort.InferenceSession.create(model, {executionProviders: ['cpu'], intraOpNumThreads: 1,
                                                            interOpNumThreads: 1});
  const x = readNpy(input);
  const results = await session.run({[session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape)});
  for (const name of session.outputNames) {
    writeNpy(path.join(outDir, name + '.npy'), results[name].dims, results[name].data);
  }
  let version = '(version unknown)';
  try {
    version = require('onnxruntime-node/package.json').version;
  } catch (e) {
  }
  console.log('onnxruntime-node ' + version + ': ' + session.outputNames.join(', '));
}

main().catch((e) => {
  console.error('ort_run.js: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
