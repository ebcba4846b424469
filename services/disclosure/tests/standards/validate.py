"""Validates pdop's public output with the standard schemas: every file in the directory given is checked by its
suffix. `.atom`: the RFC 4287 RELAX NG grammar; `.json`: the JSON Feed 1.1 schema; `.jsonld`: the DCAT-AP 3.0.1
SHACL shapes (violations fail; recommended-property warnings are printed). Prints one line per file and exits 1
if any file fails. Offline: the schemas are in schemas/ beside this script (provenance in schemas/README.md)."""

import json
import pathlib
import sys

import jsonschema
import pyshacl
import rdflib
import rnc2rng
from lxml import etree

SCHEMAS = pathlib.Path(__file__).resolve().parent / "schemas"


SCHEMATRON = "{http://www.ascc.net/xml/schematron}"


def atom_validator():
    """The grammar, and the Schematron rules embedded in it (RELAX NG validators skip them)."""
    rng = rnc2rng.dumps(rnc2rng.load(str(SCHEMAS / "atom" / "rfc4287.rnc")))
    # The grammar's `namespace local = ""` comes out as an empty prefix declaration, which XML forbids; the
    # names it stands for are written as `ns=""` anyway.
    tree = etree.fromstring(rng.replace('xmlns:local=""', "").encode("utf-8"))
    rules = [
        (rule.get("context"), assertion.get("test"), assertion.text)
        for rule in tree.iter(SCHEMATRON + "rule")
        for assertion in rule.iter(SCHEMATRON + "assert")
    ]
    return etree.RelaxNG(tree), rules


def check_atom(path, validator):
    grammar, rules = validator
    document = etree.parse(str(path))
    errors = [] if grammar.validate(document) else [f"line {e.line}: {e.message}" for e in grammar.error_log]
    namespaces = {"atom": "http://www.w3.org/2005/Atom"}
    for context, test, message in rules:
        for node in document.xpath("//" + context, namespaces=namespaces):
            if not node.xpath(f"boolean({test})", namespaces=namespaces):
                errors.append(f"line {node.sourceline}: {message}")
    return errors


def check_json_feed(path, schema):
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(json.loads(path.read_text()))]


def shapes():
    graph = rdflib.Graph()
    for name in ("dcat-ap-SHACL.ttl", "range.ttl", "shapes_recommended.ttl"):
        graph.parse(SCHEMAS / "dcat-ap-3.0.1" / name, format="turtle")
    return graph


def check_dcat(path, shape_graph):
    data = rdflib.Graph().parse(path, format="json-ld")
    if len(data) == 0:
        return ["no triples"]
    _, report, _ = pyshacl.validate(data, shacl_graph=shape_graph, allow_warnings=True)
    failures, warnings = [], []
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    for result in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        line = "{} {}: {}".format(
            report.value(result, sh.focusNode),
            report.value(result, sh.resultPath),
            report.value(result, sh.resultMessage),
        )
        severity = report.value(result, sh.resultSeverity)
        (failures if severity == sh.Violation else warnings).append(line)
    for line in sorted(set(warnings)):
        print(f"  warning {path.name}: {line}")
    return sorted(set(failures))


def main(directory):
    files = sorted(pathlib.Path(directory).iterdir())
    grammar = atom_validator() if any(f.suffix == ".atom" for f in files) else None
    feed_schema = json.loads((SCHEMAS / "jsonfeed" / "schema-v1.1.json").read_text())
    shape_graph = shapes() if any(f.suffix == ".jsonld" for f in files) else None
    checks = {
        ".atom": lambda f: check_atom(f, grammar),
        ".json": lambda f: check_json_feed(f, feed_schema),
        ".jsonld": lambda f: check_dcat(f, shape_graph),
    }
    failed = 0
    for f in files:
        check = checks.get(f.suffix)
        if check is None:
            continue
        try:
            errors = check(f)
        except Exception as e:  # an ill-formed document fails like an invalid one
            errors = [f"{type(e).__name__}: {e}"]
        print(f"{'FAIL' if errors else 'ok'} {f.name}")
        for e in errors:
            print(f"  {e}")
        failed += bool(errors)
    print(f"validated {len([f for f in files if f.suffix in checks])} files, {failed} failing")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
