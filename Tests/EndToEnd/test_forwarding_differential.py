"""Differential forwarding: hundreds of hostile request variants (framing,
`Connection` tokens, folding, bare LF, header case, pipelining, odd targets)
sent as raw bytes over TLS to `lmgate proxy` and, as the reference, to nginx,
each in front of a raw upstream that records and strictly re-parses what it
receives.

For lmgate, what reaches the upstream must parse cleanly into exactly the
requests the client got upstream answers for, each framed as the client
framed it, with the normalized target, no credentials, and the identity set
by the proxy. Against nginx: lmgate may refuse more, but with a valid key it
never forwards more requests for the same bytes.
"""
import collections
import concurrent.futures
import re

import pytest

from access_support import Proxy, create_key
from differential_corpus import build_corpus
from differential_support import Nginx, RawRecordingUpstream, check_forwarded, make_certificate, send_raw

IDENTITY = "key:harness"


@pytest.fixture
def upstreams():
    started = [RawRecordingUpstream(), RawRecordingUpstream()]
    yield started
    for upstream in started:
        upstream.stop()


def run_variant(variant, port, upstream):
    outcome = send_raw(port, variant, upstream)
    return outcome, upstream.collect()


def test_hostile_variants_reach_the_upstream_as_admitted_and_never_more_than_through_nginx(
        bin_dir, tmp_path, upstreams):
    lmgate_upstream, nginx_upstream = upstreams
    cert, cert_key = make_certificate(bin_dir, tmp_path)
    keys = tmp_path / "keys"
    key = create_key(bin_dir, keys, "harness")
    corpus = build_corpus(key)
    assert len(corpus) >= 200

    proxy = Proxy(bin_dir, tmp_path, lmgate_upstream.url, "--keys", str(keys), "--tls-cert", str(cert),
                  "--tls-key", str(cert_key), "--set", "access_log=false")
    nginx = Nginx(tmp_path, cert, cert_key, nginx_upstream.url)
    failures, rows = {}, []
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for variant in corpus:
                lmgate_run = pool.submit(run_variant, variant, proxy.port, lmgate_upstream)
                nginx_run = pool.submit(run_variant, variant, nginx.port, nginx_upstream)
                (lmgate_outcome, lmgate_records), (nginx_outcome, nginx_records) = lmgate_run.result(), nginx_run.result()
                problems = check_forwarded(variant, lmgate_outcome, lmgate_records, IDENTITY)
                lmgate_count = sum(len(record.requests) for record in lmgate_records)
                nginx_count = sum(len(record.requests) for record in nginx_records)
                if variant.key_sent and lmgate_count > nginx_count:
                    problems.append(f"lmgate forwarded {lmgate_count} requests, nginx {nginx_count}")
                if problems:
                    failures[variant.id] = (variant, problems)
                rows.append((variant, lmgate_outcome, lmgate_count, nginx_outcome, nginx_count))
    finally:
        proxy.stop()
        nginx.stop()

    print_summary(rows, failures)
    assert len(failures) == 0, f"{len(failures)} of {len(corpus)} variants failed; see the list above"


def print_summary(rows, failures):
    def line(name, *cells):
        print(f"{name:<26}" + "".join(f"{cell:>12}" for cell in cells))

    keyed = [row for row in rows if row[0].key_sent]
    print()
    line("", "variants", "refused", "forwarded", "requests up")
    for label, subset in (("all", rows), ("with a valid key", keyed)):
        line(f"lmgate, {label}", len(subset), sum(1 for row in subset if row[1].refused),
             sum(1 for row in subset if not row[1].refused), sum(row[2] for row in subset))
        line(f"nginx, {label}", len(subset), sum(1 for row in subset if row[3].refused),
             sum(1 for row in subset if not row[3].refused), sum(row[4] for row in subset))
    print(f"variants failing for lmgate: {len(failures)}")
    kinds = collections.Counter()
    for _, problems in failures.values():
        kinds.update({failure_kind(problem) for problem in problems})
    for kind, count in kinds.most_common():
        print(f"  {count:4} variants: {kind}")
    for variant, problems in failures.values():
        print(f"  v{variant.id} {variant.label}")
        for problem in problems:
            print(f"      {problem}")


def failure_kind(problem):
    """A failure description without its particulars (ordinary methods,
    targets, counts), so that failures of one kind are counted together."""
    problem = re.sub(r" \(a strict parser stops before it: .*\)$", " (a strict parser refuses it)", problem)
    problem = re.sub(r"^[A-Z]+ '[^']*': ", "", problem)
    problem = re.sub(r"'[^']*'|\[[^\]]*\]", "…", problem)
    return re.sub(r"\b(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH)\b|\b\d+\b|tag [^)]*", "…", problem)
