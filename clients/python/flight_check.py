"""Checks Arrow Flight from Python against a running gateway (`.ci/clients-check` starts
`metabase-grpc demo` and passes its address): a 1,048,575-row result read with pyarrow into a
`pyarrow.Table`, its schema and row count, the summary in the last message's app metadata, the
table handed to polars, the saved questions a narrowed caller may run, and a refusal. Prints one
line per check and a count."""

import json
import sys
import time

import polars as pl
import pyarrow as pa
import pyarrow.flight as flight

results = []


def check(name, condition, detail=""):
    results.append(condition)
    print(f"{'ok  ' if condition else 'FAIL'}  {name}{'' if condition else f': {detail}'}")


def as_caller(principal):
    """Callers identify themselves as on every other RPC: the demo reads the x-demo-caller header."""
    return flight.FlightCallOptions(headers=[(b"x-demo-caller", principal.encode())], timeout=300)


def command(**fields):
    return flight.FlightDescriptor.for_command(json.dumps(fields).encode())


def read_all(client, ticket, options):
    """Reads a DoGet stream into a Table, keeping the summary the last message carries."""
    reader = client.do_get(ticket, options)
    batches, summary = [], None
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            break
        if chunk.data is not None and chunk.data.num_rows:
            batches.append(chunk.data)
        if chunk.app_metadata is not None:
            summary = json.loads(chunk.app_metadata.to_pybytes())
    return pa.Table.from_batches(batches, schema=reader.schema), summary


def main(address):
    client = flight.FlightClient(f"grpc://{address}")
    admin = as_caller("platform-admin")

    events = command(database_id=1, native="SELECT * FROM EVENTS")
    info = client.get_flight_info(events, admin)
    expected = pa.schema(
        [
            ("ID", pa.int64()),
            ("USER_ID", pa.int64()),
            ("EVENT_TYPE", pa.string()),
            ("AMOUNT", pa.float64()),
            ("IS_MOBILE", pa.bool_()),
            ("TRACE_NUMBER", pa.int64()),
            ("OCCURRED_AT", pa.timestamp("us", tz="UTC")),
        ]
    )
    check("GetFlightInfo gives the typed schema", info.schema.equals(expected), info.schema)
    field = info.schema.field("TRACE_NUMBER")
    check(
        "fields keep Metabase's metadata",
        field.metadata.get(b"metabase.base_type") == b"type/BigInteger",
        field.metadata,
    )

    started = time.perf_counter()
    table, summary = read_all(client, info.endpoints[0].ticket, admin)
    seconds = time.perf_counter() - started
    print(f"      read {table.num_rows:,} rows in {seconds:.2f} s ({table.num_rows / seconds:,.0f} rows/s)")
    check("DoGet reads 1,048,575 rows into a pyarrow.Table", table.num_rows == 1_048_575, table.num_rows)
    check("the table has the flight's schema", table.schema.equals(expected), table.schema)
    check(
        "the last message's app_metadata carries the summary",
        summary is not None
        and summary["row_count"] == 1_048_575
        and summary["limit_reached"]
        and summary["limit_cause"] == "LIMIT_CAUSE_METABASE_EXPORT_LIMIT"
        and summary["mistyped_values"] == 0,
        summary,
    )
    check(
        "integers above 2^53 stay exact",
        table.column("TRACE_NUMBER")[0].as_py() == 9_007_199_254_740_993,
        table.column("TRACE_NUMBER")[0],
    )

    frame = pl.from_arrow(table)
    by_type = frame.group_by("EVENT_TYPE").agg(pl.len().alias("events"), pl.col("AMOUNT").sum())
    check(
        "polars reads the table with its types",
        frame.height == 1_048_575 and frame.schema["ID"] == pl.Int64 and frame.schema["IS_MOBILE"] == pl.Boolean,
        frame.schema,
    )
    check("polars aggregates it", by_type["events"].sum() == 1_048_575, by_type)

    listed = sorted(
        json.loads(flight_info.descriptor.command)["card_id"]
        for flight_info in client.list_flights(options=as_caller("orders-api"))
    )
    check("ListFlights lists the saved questions orders-api may run", listed == [1, 2, 8], listed)

    try:
        client.get_flight_info(command(database_id=1, native="SELECT 1"), as_caller("agent-7"))
        check("native SQL is refused for agent-7", False, "the call succeeded")
    except flight.FlightUnauthorizedError as error:
        check("native SQL is refused for agent-7", "datasets: full" in str(error), error)

    passed = sum(results)
    print(f"python flight: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
