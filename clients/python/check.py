"""Checks the Python client against a running gateway (`.ci/clients-check` starts `metabase-grpc
demo` and passes its address): generated stubs, a streamed RunQuery read into pandas with typed
columns, WhoAmI, and a refusal with its gRPC code. Prints one line per check and a count."""

import sys

import grpc

from run_query_to_pandas import run_query_to_dataframe
from metabase.gateway.v1 import common_pb2, dataset_service_pb2, dataset_service_pb2_grpc
from metabase.gateway.v1 import gateway_service_pb2, gateway_service_pb2_grpc

results = []


def check(name, condition, detail=""):
    results.append(condition)
    print(f"{'ok  ' if condition else 'FAIL'}  {name}{'' if condition else f': {detail}'}")


def main(address):
    with grpc.insecure_channel(address) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        me = gateway_service_pb2_grpc.GatewayServiceStub(channel).WhoAmI(
            gateway_service_pb2.WhoAmIRequest(), metadata=[("x-demo-caller", "agent-7")], timeout=10
        )
        check("WhoAmI names the caller", me.principal == "agent-7", me)

        orders = {"type": "query", "query": {"source-table": 2}}
        frame, summary = run_query_to_dataframe(channel, 1, orders, "agent-7")
        check("RunQuery streams rows into a DataFrame", len(frame) == summary.row_count == 2000, (len(frame), summary))
        check(
            "the demo policy's max_rows stops the stream",
            summary.limit_reached and summary.limit_cause == common_pb2.LIMIT_CAUSE_POLICY_MAX_ROWS,
            summary,
        )
        check(
            "columns are typed from Metabase's base types",
            (str(frame["ID"].dtype), str(frame["TOTAL"].dtype), str(frame["CREATED_AT"].dtype).startswith("datetime64"))
            == ("Int64", "Float64", True),
            frame.dtypes.to_dict(),
        )
        check("integer values are exact", frame["ID"].iloc[0] == 1 and frame["ID"].is_unique, frame["ID"].head())

        native = dataset_service_pb2.RunQueryRequest(
            database_id=1, native=dataset_service_pb2.NativeQuery(query="SELECT 1")
        )
        try:
            list(dataset_service_pb2_grpc.DatasetServiceStub(channel).RunQuery(
                native, metadata=[("x-demo-caller", "agent-7")], timeout=10
            ))
            check("native SQL is refused for agent-7", False, "the call succeeded")
        except grpc.RpcError as error:
            check(
                "native SQL is refused for agent-7",
                error.code() == grpc.StatusCode.PERMISSION_DENIED and "datasets: full" in error.details(),
                (error.code(), error.details()),
            )
    passed = sum(results)
    print(f"python client: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
