// Loads metabase-grpc's services from the repository's proto/ at run time (no code generation)
// and opens clients on a plaintext channel, as a service behind a mesh proxy would: the proxy
// carries mTLS and identity, the client speaks plain gRPC to it.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', 'proto');

/** Returns the `metabase.gateway.v1` package: one constructor per service. */
function loadGatewayPackage() {
  const definition = protoLoader.loadSync(
    ['dataset_service.proto', 'gateway_service.proto', 'card_service.proto'].map((file) =>
      path.join(PROTO_ROOT, 'metabase', 'gateway', 'v1', file),
    ),
    {
      includeDirs: [PROTO_ROOT],
      keepCase: true,
      // int64 values travel as strings, so ids past 2^53 stay exact.
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    },
  );
  return grpc.loadPackageDefinition(definition).metabase.gateway.v1;
}

/** Returns a Value's JavaScript value: null, boolean, string (int64) or number. */
function cell(value) {
  return value.kind === 'null_value' || !value.kind ? null : value[value.kind];
}

/**
 * Runs an MBQL query and resolves to { columns, rows, summary }, reading the stream as it comes.
 * `caller` goes in the demo's x-demo-caller header; in a mesh, send no identity header at all.
 */
function runQuery(gateway, address, { databaseId, mbql, maxRows = 0, caller }) {
  const datasets = new gateway.DatasetService(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (caller) metadata.set('x-demo-caller', caller);
  const request = { database_id: String(databaseId), mbql: toStruct(mbql), max_rows: String(maxRows) };
  return new Promise((resolve, reject) => {
    const result = { columns: [], rows: [], summary: null };
    const stream = datasets.RunQuery(request, metadata, { deadline: Date.now() + 60_000 });
    stream.on('data', (chunk) => {
      if (chunk.chunk === 'header') result.columns = chunk.header.columns;
      if (chunk.chunk === 'rows') for (const row of chunk.rows.rows) result.rows.push(row.values.map(cell));
      if (chunk.chunk === 'summary') result.summary = chunk.summary;
    });
    stream.on('error', (error) => {
      datasets.close();
      reject(error);
    });
    stream.on('end', () => {
      datasets.close();
      resolve(result);
    });
  });
}

/**
 * Converts plain JSON into a google.protobuf.Struct as proto-loader expects it. protobufjs ships
 * the well-known types with camelCase field names, whatever `keepCase` says.
 */
function toStruct(object) {
  return { fields: Object.fromEntries(Object.entries(object).map(([key, value]) => [key, toValue(value)])) };
}

function toValue(value) {
  if (value === null) return { nullValue: 'NULL_VALUE' };
  if (Array.isArray(value)) return { listValue: { values: value.map(toValue) } };
  if (typeof value === 'object') return { structValue: toStruct(value) };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return { stringValue: String(value) };
}

module.exports = { grpc, loadGatewayPackage, runQuery, cell };
