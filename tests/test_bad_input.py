"""Bad input at every entry point (issue 7): one clear line naming what and where, exit code 2
for configuration, no traceback, nothing half-started. Profile YAML, CLI flags, environment
variables, store and carrier responses the adapters parse, and webhook bodies. (Admin API
payloads: tests/test_fuzz_admin.py; profile fuzzing: tests/test_fuzz_profile.py.)"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml
from _profiles import small
from _servers import serving_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peakbench.adapters import readout as ro
from peakbench.adapters import shopify as sh
from peakbench.adapters import woocommerce as wc
from peakbench.cli.main import main
from peakbench.config.targets import HtmlReadout, JsonReadout

ROOT = Path(__file__).resolve().parents[1]
VALID = yaml.safe_dump(small())
SECRET = "cs_do_not_print_me_0123456789"


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


# -- profile YAML ---------------------------------------------------------------------------------

BOMB = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
)
PROFILES: dict[str, tuple[bytes | str | None, list[str]]] = {
    # name: (file content, or None for no file; words the one line must hold)
    "empty": ("", [":1:", "must be a YAML mapping", "empty"]),
    "a list": ("- a\n- b\n", [":1:", "must be a YAML mapping", "list"]),
    "a scalar": ("just words\n", [":1:", "must be a YAML mapping"]),
    "binary junk": (bytes(range(256)) * 2, ["not a text file", "UTF-8"]),
    "syntax error": ("name: [unclosed\n", ["invalid YAML"]),
    "tab indent": ("name: x\n\tseed: 1\n", [":2:", "invalid YAML"]),
    "unknown key": (VALID + "colour: blue\n", ["colour: unknown field"]),
    "misspelt key": (VALID.replace("order_window", "order_windw"), ["did you mean 'order_window'"]),
    "wrong type": (VALID.replace("seed: 11", "seed: many"), ["seed:", "valid integer"]),
    "negative duration": (VALID.replace("duration: 12h", "duration: -5h"), ["clock.duration"]),
    "huge duration": (
        VALID.replace("duration: 12h", "duration: 99999999999999d"),
        ["clock.duration", "at most 366d"],
    ),
    "infinity": (VALID.replace("scale: 2400", "scale: .inf"), ["clock.scale", "finite"]),
    "huge rate": (
        VALID.replace("peak_orders_per_hour: 60", "peak_orders_per_hour: 1000000000000"),
        ["peak.peak_orders_per_hour", "at most 5,000,000"],
    ),
    "duplicate key": (VALID + "seed: 12\n", ["'seed' appears twice"]),
    "alias cycle": ("name: &a [*a]\n", ["cycle"]),
    "alias bomb": (BOMB, ["alias bomb"]),
    "deep nesting": ("name: " + "[" * 2000 + "]" * 2000 + "\n", ["nested deeper"]),
    "python tag": ("name: !!python/object/apply:os.system [echo]\n", ["invalid YAML"]),
    "missing file": (None, ["No such file"]),
}


@pytest.mark.parametrize("case", sorted(PROFILES))
def test_bad_profiles_give_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    content, words = PROFILES[case]
    path = tmp_path / "p.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert main(["validate", str(path)]) == 2
    line = _one_line(capsys)
    assert line.startswith(f"error: {path}"), line
    assert all(w in line for w in words), (line, words)


def test_a_directory_as_profile_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    assert _one_line(capsys) == f"error: {tmp_path}: Is a directory"


def test_run_with_a_bad_profile_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\x00\xff" * 50)
    results = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "peakbench", "run", str(bad), "--results", str(results)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {bad}:1: not a text file: byte 0xff is not UTF-8"
    ]
    assert not results.exists()
    left = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(tmp_path) in " ".join(p.info["cmdline"] or [])
    ]
    assert not left, left


def test_debug_shows_what_a_one_line_error_hides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "afile"
    results.write_text("")
    profile = tmp_path / "p.yaml"
    profile.write_text(VALID)
    assert main(["run", str(profile), "--results", str(results / "x"), "--debug"]) == 2
    assert "--results" in _one_line(capsys)


# -- CLI flags ------------------------------------------------------------------------------------


@pytest.fixture
def profile_file(tmp_path: Path) -> str:
    path = tmp_path / "p.yaml"
    path.write_text(VALID)
    return str(path)


FLAGS: list[tuple[list[str], list[str]]] = [
    (["--processes", "0"], ["--processes"]),
    (["--master-port", "99999"], ["--master-port", "65535"]),
    (["--master", "--processes", "2"], ["--master", "--processes"]),
    (["--expect-workers", "3"], ["--expect-workers", "--master"]),
    (["--master-host", "h"], ["--master-host", "--worker"]),
    (["--master", "--expect-workers", "0"], ["--expect-workers"]),
    (["--set", "nokey"], ["--set", "KEY=VALUE"]),
    (["--set", "target.plugin.interval=["], ["--set target.plugin.interval", "not valid YAML"]),
    (["--set", "carriers.7.name=x"], ["--set carriers.7.name", "no item 7"]),
    (["--set", "seed.x=1"], ["--set seed.x", "not a mapping"]),
    (["--set", "clock.duration=forever"], ["clock.duration", "expected a duration"]),
    (["--baseline", "nowhere"], ["--baseline", "relative SLOs"]),
    (["--set", "slo.staleness_p95=+10%"], ["baseline run", "--baseline"]),
    (["--set", "slo.staleness_p95=+10%", "--baseline", "nowhere"], ["baseline nowhere"]),
]


@pytest.mark.parametrize(("flags", "words"), FLAGS, ids=[" ".join(f) for f, _ in FLAGS])
def test_bad_run_flags_are_one_line_and_start_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    profile_file: str,
    flags: list[str],
    words: list[str],
) -> None:
    results = tmp_path / "results"
    assert main(["run", profile_file, "--results", str(results), *flags]) == 2
    line = _one_line(capsys)
    assert all(w in line for w in words), line
    assert not results.exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PEAKBENCH_DISK_RESERVE", "lots"),
        ("PEAKBENCH_HANG_AFTER", "soon"),
        ("PEAKBENCH_JOURNAL_SEGMENT_BYTES", "12 parsecs"),
        ("PEAKBENCH_JOURNAL_SEGMENT_BYTES", "10"),
    ],
)
def test_bad_fault_settings_in_the_environment_start_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    profile_file: str,
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv(name, value)
    results = tmp_path / "results"
    assert main(["run", profile_file, "--results", str(results)]) == 2
    line = _one_line(capsys)
    assert name in line, line
    assert not results.exists()


OTHER: list[tuple[list[str], list[str]]] = [
    (["run", "--worker"], ["--master-host"]),
    (["run", "--worker", "--master-host", "h", "--processes", "2"], ["--worker takes only"]),
    (["report", "{tmp}/nowhere"], ["no run.json"]),
    (["report", "{tmp}/half"], ["never finished"]),
    (["report", "{tmp}/broken"], ["summary.json", "unreadable"]),
    (["compare", "{tmp}/half"], ["at least two"]),
    (["compare", "{tmp}/half", "{tmp}/half", "--confidence", "2"], ["--confidence"]),
    (["compare", "{tmp}/half", "{tmp}/half", "--html", "{tmp}/no/x.html"], ["--html"]),
    (["results", "list", "--results", "{tmp}/nowhere"], ["no such results folder"]),
    (["mocks", "ca", "--dir", "{tmp}/afile/ca"], ["--dir"]),
    (["target", "check", "{tmp}/nowhere.yaml"], ["nowhere.yaml", "No such file"]),
]


@pytest.mark.parametrize(("argv", "words"), OTHER, ids=[" ".join(a) for a, _ in OTHER])
def test_bad_flags_of_every_subcommand_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "run.json").write_text("{}")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{}")
    (tmp_path / "broken" / "summary.json").write_text('{"clock": ')
    (tmp_path / "afile").write_text("")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    line = _one_line(capsys)
    assert all(w in line for w in words), line


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--processes", "many"], ["--processes", "invalid int"]),
        (["compare", "a", "b", "--resamples", "x"], ["--resamples"]),
        (["bogus"], ["invalid choice"]),
        ([], ["required"]),
    ],
)
def test_argparse_errors_exit_2_with_the_flag(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # argparse prints its usage first, then one line
    assert all(w in last for w in words), err


# -- environment variables ------------------------------------------------------------------------


def _server_files(tmp: Path) -> dict[str, str]:
    clock = {"start_epoch": 1_795_755_600.0, "scale": 60.0, "wall_epoch": time.time()}
    (tmp / "clock.json").write_text(json.dumps(clock))
    (tmp / "store.json").write_text(json.dumps({"plugin": {}, "carriers": {}}))
    fleet = {"seed": 1, "carriers": [{"name": "generic"}]}
    (tmp / "fleet.json").write_text(json.dumps(fleet))
    return {"clock": str(tmp / "clock.json"), "tmp": str(tmp)}


CREDS = "PEAKBENCH_STORE_CREDENTIALS"
ENV_CASES = [
    (CREDS, None, "is not set"),
    (CREDS, "", "is not set"),
    (CREDS, '{"consumer_key": "ck_x", "consumer_secret": "' + SECRET, "is not JSON"),
    (CREDS, f'["{SECRET}"]', "JSON object"),
    (CREDS, f'{{"consumer_key": "", "consumer_secret": "{SECRET}"}}', "consumer_key"),
    ("PEAKBENCH_CARRIER_KEYS", f'{{"generic": "{SECRET}"}}', "must look like"),
    ("PEAKBENCH_CARRIER_KEYS", f"{{'generic': ['{SECRET}']}}", "is not JSON"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "words"), ENV_CASES)
def test_store_serve_names_a_bad_variable_never_its_value(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str | None,
    words: str,
) -> None:
    files = _server_files(tmp_path)
    good = json.dumps({"consumer_key": "ck_ok", "consumer_secret": "cs_ok"})
    monkeypatch.setenv("PEAKBENCH_STORE_CREDENTIALS", good)
    monkeypatch.delenv("PEAKBENCH_CARRIER_KEYS", raising=False)
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    argv = ["store", "serve", "--config", f"{tmp_path}/store.json", "--clock", files["clock"]]
    argv += ["--db", f"{tmp_path}/s.sqlite", "--ready-file", f"{tmp_path}/ready.json"]
    assert main(argv) == 2
    line = _one_line(capsys)
    assert name in line and words in line, line
    assert SECRET not in line
    assert not (tmp_path / "ready.json").exists() and not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PEAKBENCH_CARRIER_KEYS", '{"generic": ["' + SECRET),
        ("PEAKBENCH_CARRIER_KEYS", f'{{"generic": "{SECRET}"}}'),
        ("PEAKBENCH_STORE_CREDENTIALS", '{"consumer_secret": "' + SECRET),
    ],
)
def test_mocks_serve_names_a_bad_variable_never_its_value(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
) -> None:
    files = _server_files(tmp_path)
    monkeypatch.delenv("PEAKBENCH_CARRIER_KEYS", raising=False)
    monkeypatch.delenv("PEAKBENCH_STORE_CREDENTIALS", raising=False)
    monkeypatch.setenv(name, value)
    argv = ["mocks", "serve", "--config", f"{tmp_path}/fleet.json", "--clock", files["clock"]]
    argv += ["--journal-dir", f"{tmp_path}/j", "--ready-file", f"{tmp_path}/ready.json"]
    assert main(argv) == 2
    line = _one_line(capsys)
    assert name in line and SECRET not in line, line
    assert not (tmp_path / "ready.json").exists()
    fleet = tmp_path / "fleet.yaml"  # standalone: the same refusal
    fleet.write_text(yaml.safe_dump({"carriers": [{"name": "generic"}]}))
    assert main(["mocks", "serve", "--fleet", str(fleet)]) == 2
    line = _one_line(capsys)
    assert name in line and SECRET not in line, line


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_real_targets_missing_or_empty_credentials_are_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str | None,
) -> None:
    data = small("real")
    data["target"] = {"kind": "woocommerce", "url": "https://staging.shop.test", "staging": True,
                      "key_env": "PB_BAD_KEY", "secret_env": "PB_BAD_SECRET"}  # fmt: skip
    profile = tmp_path / "real.yaml"
    profile.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("PB_BAD_KEY", "ck_present")
    if value is None:
        monkeypatch.delenv("PB_BAD_SECRET", raising=False)
    else:
        monkeypatch.setenv("PB_BAD_SECRET", value)
    results = tmp_path / "results"
    assert main(["run", str(profile), "--results", str(results)]) == 2
    line = _one_line(capsys)
    assert "PB_BAD_SECRET" in line and "ck_present" not in line, line
    assert not results.exists()
    assert main(["target", "check", str(profile)]) == 2
    out = capsys.readouterr().out
    assert "PB_BAD_SECRET" in out and "ck_present" not in out


# -- responses the adapters parse -----------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "order_key",
                    "tracking_id",
                    "data",
                    "errors",
                    "extensions",
                    "cost",
                    "throttleStatus",
                    "order",
                    "fulfillments",
                    "events",
                    "nodes",
                    "happenedAt",
                    "trackingInfo",
                    "number",
                    "orderCreate",
                    "userErrors",
                    "field",
                    "fulfillmentOrders",
                    "status",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)
CLEAR = (ValueError, sh.ShopifyError)
"""What a parser may raise for a response it cannot read: a one-line, named error."""
PARSERS = {
    "wc.parse_order": wc.parse_order,
    "wc.parse_tracking_item": wc.parse_tracking_item,
    "wc.error_code": wc.error_code,
    "sh.parse_response": sh.parse_response,
    "sh.parse_cost": sh.parse_cost,
    "sh.parse_created_order": sh.parse_created_order,
    "sh.parse_shippable_order": sh.parse_shippable_order,
    "sh.parse_fulfillment": sh.parse_fulfillment,
    "sh.parse_event": sh.parse_event,
    "sh.parse_deleted": sh.parse_deleted,
    "sh.parse_tracking": sh.parse_tracking,
    "ro.read_json": lambda body: ro.read_json(
        JsonReadout(status="order.status", events="order.events", event_time="happenedAt"), body
    ),
}


@settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.sampled_from(sorted(PARSERS)), JSON)
def test_adapter_parsers_read_any_json_or_raise_a_clear_error(name: str, body: Any) -> None:
    try:
        PARSERS[name](body)
    except CLEAR as exc:
        assert "\n" not in str(exc) and str(exc), (name, exc)


HTML_PAGES = [
    "<!doctype html><title>502 Bad Gateway</title><h1>Bad Gateway</h1>",
    "<html><body><form id=loginform>Log in</form></body></html>",
    '<p class="tracking-status" data-status="in_transit"><p class="tracking-status">',
    '<ul><li class="tracking-event" data-occurred="2026-11-27T10:00:00-05:00">',  # truncated
    "",
    "\x00\xff not html at all",
]


@pytest.mark.parametrize("page", HTML_PAGES)
def test_error_pages_are_not_tracking_pages(page: str) -> None:
    with pytest.raises(ValueError, match="not a tracking page"):
        wc.parse_tracking_page(page)
    if "tracking-status" not in page:  # the CSS readout takes the first status element
        with pytest.raises(ValueError, match="not a tracking page"):
            ro.observe(HtmlReadout(), page)


@pytest.mark.parametrize(
    "body", ['{"id": 5, "order_key": "wc_order_', "<html>502</html>", "", "null", "[1, 2"]
)
def test_truncated_or_html_json_bodies_are_a_clear_error(body: str) -> None:
    with pytest.raises(ValueError) as info:
        wc.parse_order(json.loads(body))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("body", ['{"meta_data": [', "<html>error</html>", ""])
def test_a_json_readout_says_when_the_route_is_not_json(body: str) -> None:
    with pytest.raises(ValueError, match="did not answer JSON"):
        ro.observe(JsonReadout(status="status"), body)


# -- webhook bodies -------------------------------------------------------------------------------

BASIC = {"Authorization": "Basic " + base64.b64encode(b"ck_hook:cs_hook").decode()}
HOOK = "/wp-json/wc/v1/tracking-webhook"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving_store(tmp_path_factory.mktemp("hook"), "ck_hook", "cs_hook") as url:
        yield url


EVENT = {"datetime": "2026-11-27 10:00:00", "message": "Picked up"}
GOOD = {"order_id": 1, "tracking_number": "PB1", "tracking_event_status": "in_transit",
        "events": [EVENT]}  # fmt: skip
WEBHOOKS: list[tuple[str, dict[str, str], bytes, int, str]] = [
    # name, headers, body, status, error code
    ("no auth", {"Content-Type": "application/json"}, json.dumps(GOOD).encode(), 401,
     "woocommerce_rest_cannot_create"),
    ("wrong secret", {"Content-Type": "application/json",
                      "Authorization": "Basic " + base64.b64encode(b"ck_hook:nope").decode()},
     json.dumps(GOOD).encode(), 401, "woocommerce_rest_authentication_error"),
    ("garbage auth", {"Content-Type": "application/json", "Authorization": "Basic !!!"},
     json.dumps(GOOD).encode(), 401, ""),
    ("bad JSON", {**BASIC, "Content-Type": "application/json"}, b'{"order_id": 1,', 400,
     "rest_invalid_json"),
    ("binary", {**BASIC, "Content-Type": "application/json"}, b"\xff\xfe\x00", 400,
     "rest_invalid_json"),
    ("deep JSON", {**BASIC, "Content-Type": "application/json"}, b"[" * 100_000, 400,
     "rest_invalid_json"),
    ("not JSON typed", {**BASIC, "Content-Type": "text/plain"}, json.dumps(GOOD).encode(), 400,
     "rest_missing_callback_param"),
    ("a list", {**BASIC, "Content-Type": "application/json"}, b"[1]", 400,
     "rest_missing_callback_param"),
    ("events not a list", {**BASIC, "Content-Type": "application/json"},
     json.dumps({**GOOD, "events": "x"}).encode(), 400, "rest_invalid_param"),
    ("bad status", {**BASIC, "Content-Type": "application/json"},
     json.dumps({**GOOD, "tracking_event_status": "lost"}).encode(), 400, "rest_invalid_param"),
    ("huge order id", {**BASIC, "Content-Type": "application/json"},
     json.dumps({**GOOD, "order_id": 2**70}).encode(), 404,
     "woocommerce_rest_shop_order_invalid_id"),
    ("digit-like id", {**BASIC, "Content-Type": "application/json"},
     json.dumps({**GOOD, "order_id": "²"}).encode(), 400, "rest_invalid_param"),
    ("4,400 digits", {**BASIC, "Content-Type": "application/json"},
     json.dumps({**GOOD, "order_id": "9" * 4400}).encode(), 404,
     "woocommerce_rest_shop_order_invalid_id"),
    ("unknown order", {**BASIC, "Content-Type": "application/json"},
     json.dumps({**GOOD, "order_id": 424242}).encode(), 404,
     "woocommerce_rest_shop_order_invalid_id"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [w[1:] for w in WEBHOOKS],
    ids=[w[0] for w in WEBHOOKS],
)
def test_bad_webhook_bodies_are_4xx_in_woocommerce_shape(
    store: str, headers: dict[str, str], body: bytes, status: int, code: str
) -> None:
    resp = httpx.post(store + HOOK, content=body, headers=headers, timeout=10)
    assert resp.status_code == status, resp.text
    error = resp.json()
    assert isinstance(error["message"], str) and "\n" not in error["message"]
    assert not code or error["code"] == code, error
