// Streams the sample ORDERS table from metabase-grpc and prints the first rows and the summary.
//   node run-query.js 127.0.0.1:50051 agent-7
'use strict';

const { loadGatewayPackage, runQuery } = require('./client');

async function main() {
  const [address = '127.0.0.1:50051', caller = 'agent-7'] = process.argv.slice(2);
  const gateway = loadGatewayPackage();
  const mbql = { type: 'query', query: { 'source-table': 2 } };
  const { columns, rows, summary } = await runQuery(gateway, address, { databaseId: 1, mbql, caller });
  console.log(columns.map((column) => `${column.name} (${column.base_type})`).join(', '));
  for (const row of rows.slice(0, 3)) console.log(JSON.stringify(row));
  console.log(`${rows.length} rows, limit: ${summary.limit_cause}, source: ${summary.source}`);
}

main().catch((error) => {
  console.error(`run-query: ${error.code ?? ''} ${error.details ?? error.message}`);
  process.exit(1);
});
