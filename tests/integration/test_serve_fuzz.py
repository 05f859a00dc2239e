"""Property-based fuzzing of the studio API against its own OpenAPI schema (schemathesis).

Schemathesis reads /openapi.json from the app that `create_app` builds and generates requests
from it: valid ones (any in-range seed, n, scale, class text...) and invalid ones (wrong types,
out-of-range numbers, missing or extra parameters). Every response must be a 2xx or 4xx whose
status code, content type and body match the schema: never a 500. Both kinds of generator are
fuzzed, since the class checks differ: class-conditional (cdcgan) and unconditional (article).
"""

from __future__ import annotations

import collections

import pytest

pytest.importorskip("schemathesis")
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode, checks  # noqa: E402

import fashiongan  # noqa: E402
from fashiongan.serve.app import create_app
from tests.support.studio import tiny_snapshot  # noqa: E402

EXAMPLES = 40  # per operation, app and mode: 2 apps x 2 modes x 4 operations
SEEN: collections.Counter = collections.Counter()  # (app, mode, path, status) -> responses


@pytest.fixture(scope="module")
def schemas(tmp_path_factory):
    """model name -> the schema of an app serving a small saved-and-reloaded snapshot."""
    out = {}
    for model in ("cdcgan", "article"):
        g = fashiongan.load_generator(tiny_snapshot(tmp_path_factory.mktemp(model), model))
        out[model] = schemathesis.openapi.from_asgi("/openapi.json", create_app(g))
    return out


# positive_data_acceptance is left out on purpose: a class *name* is free text in the schema
# (any string up to 40 characters), and an unknown one is rightly refused with a 422.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance,
          checks.negative_data_rejection]


# Class parameters are free text in the schema, so generated ones are almost never a class and
# the request stops at the 422 before the generator; half the valid-mode requests get a real
# class name in every class parameter, so that the generator paths are fuzzed as well.
CLASS_NAMES = ["0", "9", "dress", "Ankle boot", "sneakers", "T-shirt/top", " 3 "]
CLASS_KEYS = ("class", "mix_class", "class_a", "class_b")


def _real_classes(case, name: str | None):
    if name is not None and case.query:
        for key in set(CLASS_KEYS) & set(case.query):
            case.query[key] = name
    return case


def _strategy(op, mode: GenerationMode):
    cases = op.as_strategy(mode)
    if mode is GenerationMode.NEGATIVE:
        return cases
    return st.tuples(cases, st.none() | st.sampled_from(CLASS_NAMES)).map(
        lambda pair: _real_classes(*pair))


def fuzz_schema(schema, mode: GenerationMode, tag: str) -> dict:
    """EXAMPLES generated requests for every operation; (path, status) -> count."""
    operations = [r.ok() for r in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/generate", "/api/interpolate"}
    for op in operations:
        if mode is GenerationMode.NEGATIVE and not list(op.iter_parameters()):
            continue  # nothing to get wrong in a request without parameters

        @given(case=_strategy(op, mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            # in-process ASGI: schemathesis' 10 s read timeout is a latency bar, and a large
            # valid request missed it with another test worker loading the 2 cores; latency
            # has its own tests (test_serve_load), this one is about status and schema
            response = case.call_and_validate(checks=CHECKS, timeout=120)
            SEEN[tag, mode.value, case.operation.path, response.status_code] += 1
            assert response.status_code < 500

        fuzz()
    return {k[2:]: v for k, v in sorted(SEEN.items()) if k[:2] == (tag, mode.value)}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid", "invalid"])
@pytest.mark.parametrize("model", ["cdcgan", "article"])
def test_fuzz_finds_no_server_error(model, mode, schemas):
    tried = fuzz_schema(schemas[model], mode, model)
    codes = {status for _, status in tried}
    # valid requests reach the generator (200); invalid ones are refused (422)
    assert (200 in codes) if mode is GenerationMode.POSITIVE else (422 in codes), tried
    print(f"\nfuzz {model} {mode.value}: {sum(tried.values())} requests, by (path, status):",
          tried)


def test_fuzzer_finds_a_planted_fault(tmp_path):
    """The same fuzzing, against an app whose generator fails for n > 20: it must notice."""
    app = create_app(fashiongan.load_generator(tiny_snapshot(tmp_path)))
    real = app.state.studio.designs

    def faulty(seed, n, *args, **kwargs):
        if n > 20:
            raise RuntimeError("planted fault")
        return real(seed, n, *args, **kwargs)

    app.state.studio.designs = faulty
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with pytest.raises(Exception) as caught:  # noqa: B017 - a 500 or the fault itself
        fuzz_schema(schema, GenerationMode.POSITIVE, "planted")
    assert "planted fault" in str(caught.value) or "500" in str(caught.value)
