#!/usr/bin/env python3
"""A pdop client in Python: stubs generated from proto/ with grpcio-tools, then a registry read and a
pricing preview (the maximum allowed revenue of DOMAIN §3.2's worked example), with a bearer token.

    PDOP_TOKEN=... python example.py [--registry 127.0.0.1:50051] [--pricing 127.0.0.1:50053]

Prints what each call answered; exits 1 naming the call and its gRPC status when one fails.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PROTO = HERE.parent.parent / "proto"

# This run's generated stubs; the directory is removed when the process ends.
STUBS = tempfile.TemporaryDirectory(prefix="pdop-python-stubs-")


def generate_stubs():
    """Generates the stubs from proto/ on every run (under a second), so they never lag the contract, into a
    directory of this run's own, so a read-only checkout or two runs at once are fine."""
    generated = pathlib.Path(STUBS.name)
    protos = sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))
    # `python -m grpc_tools.protoc` adds the well-known types (google/protobuf/*.proto) to the include path.
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO}", f"--python_out={generated}",
         f"--grpc_python_out={generated}", *protos],
        check=True,
    )
    sys.path.insert(0, str(generated))


class CallFailed(Exception):
    pass


def call(what, method, request, token):
    import grpc

    try:
        return method(request, metadata=[("authorization", f"Bearer {token}")], timeout=10)
    except grpc.RpcError as err:
        raise CallFailed(f"{what}: {err.code().name} {err.details()}") from None


def read_registry(channel, token, jurisdiction):
    from pdop.common.v1 import enums_pb2
    from pdop.registry.v1 import jurisdiction_pb2, registry_service_pb2_grpc

    registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
    got = call("registry GetJurisdiction", registry.GetJurisdiction,
               jurisdiction_pb2.GetJurisdictionRequest(name=jurisdiction), token).jurisdiction
    level = enums_pb2.JurisdictionLevel.Name(got.level).removeprefix("JURISDICTION_LEVEL_")
    print(f"registry: {got.name} {got.display_name} level={level} profile={got.profile_id} "
          f"parent={got.parent or '-'} division_code={got.division_code or '-'}")
    siblings = call("registry ListJurisdictions", registry.ListJurisdictions,
                    jurisdiction_pb2.ListJurisdictionsRequest(parent=got.parent), token).jurisdictions
    print(f"registry: {len(siblings)} jurisdiction(s) under {got.parent or 'the root'}: "
          + ", ".join(j.name for j in siblings))


def preview_price(channel, token, jurisdiction):
    from pdop.common.v1 import decimal_pb2
    from pdop.pricing.v1 import calculation_pb2, pricing_service_pb2_grpc

    pricing = pricing_service_pb2_grpc.PricingServiceStub(channel)
    # DOMAIN §3.2: C = 8,000,000 CNY a year, Y = 1.7 %, m = 6 points, income tax grossed up at 25 %, 3 years.
    # Money and rates travel as decimal strings: never floats for money.
    request = calculation_pb2.PreviewMaxAllowedRevenueRequest(input=calculation_pb2.CalculationInput(
        jurisdiction=jurisdiction,
        operating_cost=decimal_pb2.Money(amount="8000000"),
        bond_yield_value=decimal_pb2.Rate(value="0.017"),
        markup=decimal_pb2.Rate(value="0.06"),
        tax_method=calculation_pb2.TAX_METHOD_INCOME_TAX_GROSS_UP,
        income_tax_rate=decimal_pb2.Rate(value="0.25"),
        period_years=3,
    ))
    result = call("pricing PreviewMaxAllowedRevenue", pricing.PreviewMaxAllowedRevenue, request, token).result
    print(f"pricing: preview for {jurisdiction} (profile {result.profile_id}, markup at most "
          f"{result.markup_max.value})")
    for step in result.steps:
        print(f"  {step.index:2}. {step.label}: {step.substituted}")
    print(f"pricing: max_allowed_revenue={result.max_allowed_revenue.amount} CNY a year "
          f"(allowed_profit={result.allowed_profit.amount}, taxes={result.taxes.amount})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", default="127.0.0.1:50051", help="registry gRPC address (host:port)")
    parser.add_argument("--pricing", default="127.0.0.1:50053", help="pricing gRPC address (host:port)")
    parser.add_argument("--jurisdiction", default="jurisdictions/yunnan")
    args = parser.parse_args()
    token = os.environ.get("PDOP_TOKEN")
    if not token:
        print("example: set PDOP_TOKEN (mint one with target/debug/pdop-token)", file=sys.stderr)
        return 2
    generate_stubs()
    import grpc

    try:
        with grpc.insecure_channel(args.registry) as channel:
            read_registry(channel, token, args.jurisdiction)
        with grpc.insecure_channel(args.pricing) as channel:
            preview_price(channel, token, args.jurisdiction)
    except CallFailed as failed:
        print(f"example: {failed}", file=sys.stderr)
        return 1
    print("example: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
