"""The Python side of `cargo bench --bench flight`: reads `SELECT * FROM EVENTS` (1,048,575 rows)
three ways and prints one line per reader, `name rows_per_second rows`:

- flight: pyarrow through the gateway's Arrow Flight service into a pyarrow.Table;
- grpcio: the generated stubs reading the gateway's RunQuery, each value made a Python object;
- csv: Metabase's CSV export downloaded directly (around the gateway) and parsed with the csv
  module into typed values (int, float, bool, datetime).

Arguments: GATEWAY_ADDRESS METABASE_URL API_KEY ROUNDS; the stubs are imported from PYTHONPATH
(clients/python/generated, as .ci/clients-check generates them)."""

import csv
import io
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime

import grpc
import pyarrow.flight as flight

from metabase.gateway.v1 import dataset_service_pb2, dataset_service_pb2_grpc

SQL = "SELECT * FROM EVENTS"


def read_flight(gateway, _metabase, _key):
    client = flight.FlightClient(f"grpc://{gateway}")
    ticket = flight.Ticket(json.dumps({"database_id": 1, "native": SQL}).encode())
    return client.do_get(ticket).read_all().num_rows


def read_grpcio(gateway, _metabase, _key):
    options = [("grpc.max_receive_message_length", 16 * 1024 * 1024)]
    with grpc.insecure_channel(gateway, options=options) as channel:
        stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
        request = dataset_service_pb2.RunQueryRequest(
            database_id=1, native=dataset_service_pb2.NativeQuery(query=SQL)
        )
        rows = 0
        for chunk in stub.RunQuery(request):
            if chunk.WhichOneof("chunk") != "rows":
                continue
            for row in chunk.rows.rows:
                [getattr(value, value.WhichOneof("kind")) for value in row.values]
                rows += 1
        return rows


def read_csv(_gateway, metabase, key):
    query = json.dumps({"database": 1, "type": "native", "native": {"query": SQL}})
    body = urllib.parse.urlencode({"query": query, "format_rows": "false"}).encode()
    request = urllib.request.Request(f"{metabase}/api/dataset/csv", data=body, headers={"X-API-Key": key})
    with urllib.request.urlopen(request) as response:
        reader = csv.reader(io.TextIOWrapper(response, encoding="utf-8", newline=""))
        next(reader)
        rows = 0
        for record in reader:
            (
                int(record[0]),
                int(record[1]),
                record[2],
                float(record[3]),
                record[4] == "true",
                int(record[5]),
                datetime.fromisoformat(record[6]),
            )
            rows += 1
        return rows


def main(gateway, metabase, key, rounds):
    for name, read in (("flight", read_flight), ("grpcio", read_grpcio), ("csv", read_csv)):
        rates, rows = [], 0
        for _ in range(int(rounds)):
            started = time.perf_counter()
            rows = read(gateway, metabase, key)
            rates.append(rows / (time.perf_counter() - started))
        print(f"{name} {statistics.median(rates):.0f} {rows}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
