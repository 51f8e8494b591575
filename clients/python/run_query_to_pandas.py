"""Streams a RunQuery result from metabase-grpc into a pandas DataFrame.

The stubs are generated from the repository's proto/ into ./generated (see ./check or the README):

    python -m grpc_tools.protoc -I ../../proto -I "$(python -c 'import grpc_tools, os; \
        print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')" \
        --python_out=generated --grpc_python_out=generated ../../proto/metabase/gateway/v1/*.proto

    python run_query_to_pandas.py --address 127.0.0.1:50051 --caller agent-7

Against `metabase-grpc demo`, callers name themselves with the x-demo-caller header; in a mesh
the proxy establishes who calls and the client sends nothing of the kind.
"""

import argparse
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "generated"))

import grpc  # noqa: E402
import pandas  # noqa: E402
from google.protobuf import struct_pb2  # noqa: E402
from metabase.gateway.v1 import common_pb2, dataset_service_pb2, dataset_service_pb2_grpc  # noqa: E402

# How a column's Metabase base type becomes a pandas dtype; values arrive already typed
# (int_value, double_value, ...), so this only keeps nulls from turning integers into floats.
INTEGER_TYPES = {"type/Integer", "type/BigInteger"}
FLOAT_TYPES = {"type/Float", "type/Decimal", "type/Number"}
TEMPORAL_TYPES = {"type/DateTime", "type/DateTimeWithLocalTZ", "type/DateTimeWithTZ", "type/Date"}


def cell(value):
    """Returns a protobuf Value's Python value: None, bool, int, float or str."""
    kind = value.WhichOneof("kind")
    return None if kind in (None, "null_value") else getattr(value, kind)


def run_query_to_dataframe(channel, database_id, mbql, caller, max_rows=0):
    """Runs an MBQL query and returns (DataFrame, ResultSummary), reading the stream as it comes."""
    query = struct_pb2.Struct()
    query.update(mbql)
    request = dataset_service_pb2.RunQueryRequest(database_id=database_id, mbql=query, max_rows=max_rows)
    stub = dataset_service_pb2_grpc.DatasetServiceStub(channel)
    columns, rows, summary = [], [], None
    for chunk in stub.RunQuery(request, metadata=[("x-demo-caller", caller)], timeout=60):
        part = chunk.WhichOneof("chunk")
        if part == "header":
            columns = list(chunk.header.columns)
        elif part == "rows":
            rows.extend([cell(value) for value in row.values] for row in chunk.rows.rows)
        elif part == "summary":
            summary = chunk.summary
    frame = pandas.DataFrame(rows, columns=[column.name for column in columns])
    # By position: two columns may share a name.
    for position, column in enumerate(columns):
        if column.base_type in INTEGER_TYPES:
            frame.isetitem(position, frame.iloc[:, position].astype("Int64"))
        elif column.base_type in FLOAT_TYPES:
            frame.isetitem(position, frame.iloc[:, position].astype("Float64"))
        elif column.base_type in TEMPORAL_TYPES:
            frame.isetitem(position, pandas.to_datetime(frame.iloc[:, position], format="ISO8601", utc=True))
    return frame, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--caller", default="agent-7")
    arguments = parser.parse_args()
    with grpc.insecure_channel(arguments.address) as channel:
        # ORDERS (table 2) of the sample database; the demo policy caps agent-7 at 2,000 rows.
        frame, summary = run_query_to_dataframe(channel, 1, {"type": "query", "query": {"source-table": 2}}, arguments.caller)
    print(frame.dtypes.to_string())
    print(frame.head().to_string())
    cause = common_pb2.LimitCause.Name(summary.limit_cause)
    print(f"{len(frame)} rows, limit reached: {summary.limit_reached} ({cause}), source: {common_pb2.ResultSource.Name(summary.source)}")


if __name__ == "__main__":
    main()
