// Checks the Node client against a running gateway (.ci/clients-check starts `metabase-grpc demo`
// and passes its address): WhoAmI, a streamed RunQuery with typed values, and a refusal with its
// gRPC code. Prints one line per check and a count.
'use strict';

const { grpc, loadGatewayPackage, runQuery } = require('./client');

const results = [];
function check(name, condition, detail) {
  results.push(Boolean(condition));
  console.log(`${condition ? 'ok  ' : 'FAIL'}  ${name}${condition ? '' : `: ${JSON.stringify(detail)}`}`);
}

function whoAmI(gateway, address, caller) {
  const client = new gateway.GatewayService(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('x-demo-caller', caller);
  return new Promise((resolve, reject) =>
    client.WhoAmI({}, metadata, { deadline: Date.now() + 10_000 }, (error, response) => {
      client.close();
      return error ? reject(error) : resolve(response);
    }),
  );
}

async function main(address) {
  const gateway = loadGatewayPackage();
  const me = await whoAmI(gateway, address, 'agent-7');
  check('WhoAmI names the caller', me.principal === 'agent-7', me);

  const mbql = { type: 'query', query: { 'source-table': 2 } };
  const { columns, rows, summary } = await runQuery(gateway, address, { databaseId: 1, mbql, caller: 'agent-7' });
  check('RunQuery streams a header, rows and a summary', rows.length === 2000 && summary.row_count === '2000', summary);
  check('the demo policy caps agent-7', summary.limit_cause === 'LIMIT_CAUSE_POLICY_MAX_ROWS', summary);
  const id = columns.findIndex((column) => column.name === 'ID');
  const total = columns.findIndex((column) => column.name === 'TOTAL');
  check(
    'values arrive typed: int64 as exact strings, floats as numbers',
    rows[0][id] === '1' && typeof rows[0][total] === 'number',
    rows[0],
  );

  try {
    await runQuery(gateway, address, { databaseId: 1, mbql: { type: 'native', native: { query: 'SELECT 1' } }, caller: 'agent-7' });
    check('native SQL is refused for agent-7, even inside the mbql field', false, 'the call succeeded');
  } catch (error) {
    check(
      'native SQL is refused for agent-7, even inside the mbql field',
      error.code === grpc.status.PERMISSION_DENIED && error.details.includes('datasets: full'),
      { code: error.code, details: error.details },
    );
  }
  const passed = results.filter(Boolean).length;
  console.log(`node client: ${passed} passed, ${results.length - passed} failed`);
  return passed === results.length ? 0 : 1;
}

main(process.argv[2] ?? '127.0.0.1:50051').then(
  (code) => process.exit(code),
  (error) => {
    console.error(`node client: ${error.code ?? ''} ${error.details ?? error.stack}`);
    console.log('node client: 0 passed, 1 failed');
    process.exit(1);
  },
);
