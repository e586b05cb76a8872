"""A real WordPress + WooCommerce staging store on loopback, built in a temporary folder.

Debian's ``wordpress``, ``php-fpm``, ``mariadb-server`` and ``nginx`` (installed by .ci/run), the
plugins from ``../shared/wordpress`` (or ``PEAKBENCH_WP_PLUGINS``), HTTPS with a certificate from
``peakbench mocks ca``, REST keys created. Every service is a private, unprivileged instance
(MariaDB with its own datadir and socket, php-fpm with its own pool, nginx with its own config) on
ports of its own; nothing touches the system's services.

Nothing leaves loopback: ``wp-config.php`` sets ``WP_HTTP_BLOCK_EXTERNAL`` and the carrier
redirect must-use plugin is in place before the installer runs and before any plugin is
activated; PHP runs with ``allow_url_fopen`` off (AST fetches carrier images with
``file_get_contents``, outside the WordPress HTTP API) and with proxy variables that send any
raw cURL call that is not for loopback to a closed port.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SETUP_PHP = Path(__file__).with_name("setup.php")
WP_CORE = Path("/usr/share/wordpress")
ARCHIVES = {
    "woocommerce": "woocommerce.tar.gz",
    "woo-advanced-shipment-tracking": "woo-advanced-shipment-tracking.tar.gz",
    "trackship-for-woocommerce": "trackship-for-woocommerce.tar.gz",
}
AST = "woo-advanced-shipment-tracking/woocommerce-advanced-shipment-tracking.php"
TRACKSHIP = "trackship-for-woocommerce/trackship-for-woocommerce.php"
PLUGIN_FILES = (AST, TRACKSHIP)
CARRIERS = {"usps": "USPS", "ups": "UPS", "fedex": "FedEx", "dhl": "DHL Express"}
"""Provider slug → name, seeded into AST's and TrackShip's provider tables."""
PRODUCTS = [
    {"sku": "peakbench-mug", "name": "peakbench mug", "price": "12.00"},
    {"sku": "peakbench-tee", "name": "peakbench tee", "price": "24.00"},
    {"sku": "peakbench-cap", "name": "peakbench cap", "price": "18.00"},
]
DEAD_PROXY = "http://127.0.0.1:9"
"""Where a raw cURL call that is not for loopback goes: the discard port, closed."""
THEME = Path("/usr/share/wordpress/wp-content/themes/twentytwentyone")
"""A classic theme (Debian's wordpress-theme-twentytwentyone): pages render their shortcodes."""
TOOLS = ("mariadb-install-db", "mariadbd", "php-fpm8.2", "php", "nginx")


class StoreUnavailable(Exception):
    """The store cannot be built here (plugins or packages absent): one line, the test skips."""


def plugins_dir(env: Mapping[str, str] = os.environ) -> Path:
    """``PEAKBENCH_WP_PLUGINS`` or ``../shared/wordpress`` beside the repo; StoreUnavailable
    when the archives are not there."""
    folder = Path(env.get("PEAKBENCH_WP_PLUGINS") or REPO.parent / "shared" / "wordpress")
    missing = [a for a in ARCHIVES.values() if not (folder / a).is_file()]
    if missing:
        raise StoreUnavailable(
            f"WordPress plugins absent: {', '.join(missing)} not in {folder} "
            "(set PEAKBENCH_WP_PLUGINS=DIR)"
        )
    return folder


def _tool(name: str) -> str:
    for folder in ("", "/usr/sbin/", "/usr/bin/"):
        path = shutil.which(folder + name) if folder else shutil.which(name)
        if path:
            return path
    raise StoreUnavailable(f"{name} is not installed (.ci/run installs the store packages)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RealStore:
    """A running store: its URL, credentials, ids, and the database behind it."""

    root: Path
    url: str
    consumer_key: str
    consumer_secret: str = field(repr=False)
    mocks_port: int
    """Port the store's redirect plugin sends carrier calls to (``https://127.0.0.1:PORT``)."""
    ca_file: Path
    tls_dir: Path
    product_ids: list[int]
    trackship_key: str
    mysql_socket: Path
    plugins: list[str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    build_seconds: float = 0.0

    @property
    def wp(self) -> Path:
        return self.root / "wp"

    def tls(self) -> ssl.SSLContext:
        """An SSL context that trusts the store's (and the mocks') CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def env(self) -> dict[str, str]:
        """Environment for a peakbench run against this store."""
        return {
            "PEAKBENCH_WC_KEY": self.consumer_key,
            "PEAKBENCH_WC_SECRET": self.consumer_secret,
        }

    def sql(self, query: str) -> list[list[str]]:
        """Rows of a query against the store's database (tab-separated text cells)."""
        argv = [_tool("mariadb"), "--no-defaults", f"--socket={self.mysql_socket}", "-uroot"]
        argv += ["-N", "-B", "wordpress", "-e", query]
        out = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return [line.split("\t") for line in out.stdout.splitlines()]

    def php(self, code: str) -> str:
        """Run PHP inside WordPress (``wp-load.php`` loaded) and return its output."""
        script = self.root / f"eval-{secrets.token_hex(4)}.php"
        script.write_text(
            "<?php\n$_SERVER['HTTP_HOST'] = " + json.dumps(self.url.split("//", 1)[1]) + ";\n"
            "$_SERVER['HTTPS'] = 'on';\n"
            f"require {json.dumps(str(self.wp / 'wp-load.php'))};\n{code}\n"
        )
        try:
            out = subprocess.run(
                _php_argv(script),
                capture_output=True,
                text=True,
                timeout=60,
                env=_php_env(),
                check=True,
            )
        finally:
            script.unlink()
        return out.stdout

    def set_cron(self, enabled: bool) -> None:
        """Turn WP-Cron (and with it Action Scheduler's queue runner) on or off."""
        flag = self.root / "cron-off"
        if enabled:
            flag.unlink(missing_ok=True)
        else:
            flag.touch()

    def stop(self) -> None:
        for name in ("nginx", "php-fpm", "mariadb"):
            proc = self.processes.pop(name, None)
            if proc is None:
                continue
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _php_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME", "TMPDIR")}
    for name in ("http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        env[name] = DEAD_PROXY
    env["no_proxy"] = env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


def _php_argv(script: Path, *args: str) -> list[str]:
    return [_tool("php"), "-d", "allow_url_fopen=0", "-d", "memory_limit=512M", str(script), *args]


def _wait(what: str, ready: Any, proc: subprocess.Popen[bytes], log: Path, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if ready():
            return
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}: {tail}")
        time.sleep(0.05)
    raise RuntimeError(f"{what} not ready within {limit:.0f} s")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _as_root() -> bool:
    return os.geteuid() == 0


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _mariadb(root: Path, store: dict[str, Any]) -> subprocess.Popen[bytes]:
    data, sock = root / "mysql", root / "mysql.sock"
    log = root / "mariadb.log"
    user = ["--user=root"] if _as_root() else []
    argv = [_tool("mariadb-install-db"), "--no-defaults", f"--datadir={data}", *user]
    argv += ["--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"]
    subprocess.run(
        argv,
        capture_output=True,
        check=True,
        timeout=120,
    )
    init = root / "mysql-init.sql"
    init.write_text(
        "CREATE DATABASE IF NOT EXISTS wordpress CHARACTER SET utf8mb4;\n"
        f"CREATE USER IF NOT EXISTS 'wp'@'localhost' IDENTIFIED BY '{store['db_password']}';\n"
        "GRANT ALL ON wordpress.* TO 'wp'@'localhost';\n"
    )
    argv = [_tool("mariadbd"), "--no-defaults", f"--datadir={data}", f"--socket={sock}", *user]
    argv += [f"--port={store['db_port']}", "--bind-address=127.0.0.1", "--skip-name-resolve"]
    argv += [f"--pid-file={root / 'mysql.pid'}", f"--init-file={init}", "--skip-log-bin"]
    argv += ["--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=128M"]
    argv += ["--innodb-doublewrite=0", "--max-connections=200"]
    proc = _start(argv, log)
    _wait("mariadbd", lambda: sock.exists() and _listening(store["db_port"]), proc, log, 60)
    return proc


def _php_fpm(root: Path, store: dict[str, Any]) -> subprocess.Popen[bytes]:
    conf = root / "php-fpm.conf"
    env_lines = "".join(f"env[{k}] = {v}\n" for k, v in _php_env().items())
    conf.write_text(
        "[global]\n"
        f"pid = {root / 'php-fpm.pid'}\nerror_log = {root / 'php-fpm.log'}\ndaemonize = no\n"
        "[store]\n"
        + ("user = root\ngroup = root\n" if _as_root() else "")
        + f"listen = {root / 'php-fpm.sock'}\n"
        "pm = static\npm.max_children = 6\nclear_env = yes\ncatch_workers_output = yes\n"
        + env_lines
        + "php_admin_flag[allow_url_fopen] = off\n"
        "php_admin_value[memory_limit] = 256M\n"
        f"php_admin_value[error_log] = {root / 'php-errors.log'}\n"
        "php_admin_flag[log_errors] = on\n"
    )
    argv = [_tool("php-fpm8.2"), "--nodaemonize", "--fpm-config", str(conf)]
    argv += ["-R"] if _as_root() else []
    log = root / "php-fpm.out"
    proc = _start(argv, log)
    _wait("php-fpm", (root / "php-fpm.sock").exists, proc, log, 30)
    return proc


def _nginx(root: Path, store: dict[str, Any]) -> subprocess.Popen[bytes]:
    tmp = root / "nginx"
    tmp.mkdir()
    tls = root / "tls"
    conf = root / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 2;
pid {root / "nginx.pid"};
error_log {root / "nginx-error.log"} warn;
{"user root;" if _as_root() else ""}
events {{ worker_connections 512; }}
http {{
  include /etc/nginx/mime.types;
  access_log {root / "nginx-access.log"};
  client_body_temp_path {tmp}/body; fastcgi_temp_path {tmp}/fastcgi;
  proxy_temp_path {tmp}/proxy; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{
    listen 127.0.0.1:{store["port"]} ssl;
    server_name 127.0.0.1 localhost;
    ssl_certificate {tls / "mocks.pem"};
    ssl_certificate_key {tls / "mocks-key.pem"};
    root {root / "wp"};
    index index.php;
    client_max_body_size 20m;
    location / {{ try_files $uri $uri/ /index.php?$args; }}
    location ~ \\.php$ {{
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
      fastcgi_param HTTP_HOST $http_host;
      fastcgi_param HTTPS on;
      fastcgi_read_timeout 120s;
      fastcgi_pass unix:{root / "php-fpm.sock"};
    }}
  }}
}}
"""
    )
    argv = [_tool("nginx"), "-e", str(root / "nginx-error.log"), "-p", str(root), "-c", str(conf)]
    log = root / "nginx.out"
    proc = _start(argv, log)
    _wait("nginx", lambda: _listening(store["port"]), proc, log, 30)
    return proc


def _wp_config(root: Path, store: dict[str, Any]) -> str:
    keys = "".join(
        f"define( '{k}', '{secrets.token_hex(32)}' );\n"
        for k in (
            "AUTH_KEY",
            "SECURE_AUTH_KEY",
            "LOGGED_IN_KEY",
            "NONCE_KEY",
            "AUTH_SALT",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT",
            "NONCE_SALT",
        )
    )
    return f"""<?php
define( 'DB_NAME', 'wordpress' );
define( 'DB_USER', 'wp' );
define( 'DB_PASSWORD', '{store["db_password"]}' );
define( 'DB_HOST', 'localhost:{root / "mysql.sock"}' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
{keys}$table_prefix = 'wp_';
// nothing leaves loopback: set before the installer or any plugin runs
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_ACCESSIBLE_HOSTS', '127.0.0.1,localhost' );
define( 'PEAKBENCH_MOCKS_URL', 'https://127.0.0.1:{store["mocks_port"]}' );
define( 'PEAKBENCH_CA_FILE', '{root / "tls" / "ca.pem"}' );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'DISALLOW_FILE_MODS', true );
define( 'FS_METHOD', 'direct' );
define( 'WP_HOME', '{store["url"]}' );
define( 'WP_SITEURL', '{store["url"]}' );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', '{root / "wp-debug.log"}' );
if ( file_exists( '{root / "cron-off"}' ) ) {{
	define( 'DISABLE_WP_CRON', true );
}}
if ( ! defined( 'ABSPATH' ) ) {{
	define( 'ABSPATH', __DIR__ . '/' );
}}
require_once ABSPATH . 'wp-settings.php';
"""


def _setup(root: Path, step: str, cfg: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        _php_argv(SETUP_PHP, step, str(root / "setup.json")),
        capture_output=True,
        text=True,
        timeout=180,
        env=_php_env(),
    )
    if out.returncode != 0:
        raise RuntimeError(f"setup step {step} failed: {(out.stderr or out.stdout)[-800:]}")
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"setup step {step} printed no result: {out.stdout[-800:]}")
    return dict(json.loads(lines[-1]))


def _install_wordpress(root: Path, plugins: Path, store: dict[str, Any]) -> None:
    wp = root / "wp"
    shutil.copytree(WP_CORE, wp, symlinks=False, ignore=shutil.ignore_patterns("wp-content"))
    (wp / "wp-config.php").write_text(_wp_config(root, store))
    content = wp / "wp-content"
    for sub in ("plugins", "themes", "uploads", "mu-plugins"):
        (content / sub).mkdir(parents=True)
    # the safety rail first: the redirect plugin and the CA are in place before anything runs
    for plugin in sorted((REPO / "wordpress").glob("*.php")):
        shutil.copy(plugin, content / "mu-plugins" / plugin.name)
    shutil.copy(root / "tls" / "ca.pem", content / "mu-plugins" / "peakbench-ca.pem")
    shutil.copytree(THEME, content / "themes" / THEME.name)
    for archive in ARCHIVES.values():
        with tarfile.open(plugins / archive) as tar:
            tar.extractall(content / "plugins", filter="data")


def build_store(root: Path, plugins: Path) -> RealStore:
    """Build and start a store under ``root`` (an empty folder). Stop it with ``store.stop()``."""
    for tool in TOOLS:
        _tool(tool)
    if not THEME.is_dir():
        raise StoreUnavailable(f"{THEME} is missing (.ci/run installs {THEME.name})")
    began = time.monotonic()
    port, mocks_port = free_port(), free_port()
    url = f"https://127.0.0.1:{port}"
    store: dict[str, Any] = {
        "port": port,
        "db_port": free_port(),
        "mocks_port": mocks_port,
        "url": url,
        "db_password": secrets.token_hex(12),
    }
    subprocess.run(
        [sys.executable, "-m", "peakbench", "mocks", "ca", "--dir", str(root / "tls")],
        capture_output=True,
        check=True,
        timeout=60,
    )
    _install_wordpress(root, plugins, store)
    result = RealStore(
        root=root,
        url=url,
        consumer_key=f"ck_{secrets.token_hex(20)}",
        consumer_secret=f"cs_{secrets.token_hex(20)}",
        mocks_port=mocks_port,
        ca_file=root / "tls" / "ca.pem",
        tls_dir=root / "tls",
        product_ids=[],
        trackship_key=f"ts_{secrets.token_hex(12)}",
        mysql_socket=root / "mysql.sock",
        plugins=[],
    )
    try:
        result.processes["mariadb"] = _mariadb(root, store)
        cfg = {
            "wp": str(root / "wp"),
            "url": url,
            "host": f"127.0.0.1:{port}",
            "port": str(port),
            "admin_password": secrets.token_hex(12),
            "activate": list(PLUGIN_FILES),
            "consumer_key": result.consumer_key,
            "consumer_secret": result.consumer_secret,
            "trackship_key": result.trackship_key,
            "products": PRODUCTS,
            "carriers": CARRIERS,
        }
        (root / "setup.json").write_text(json.dumps(cfg))
        for step in ("core", "woo", "plugins"):
            _setup(root, step, cfg)
        data = _setup(root, "data", cfg)
        result.product_ids = [int(i) for i in data["product_ids"]]
        result.plugins = list(data["active_plugins"])
        result.processes["php-fpm"] = _php_fpm(root, store)
        result.processes["nginx"] = _nginx(root, store)
    except BaseException:
        result.stop()
        raise
    finally:
        (root / "setup.json").unlink(missing_ok=True)
    result.build_seconds = time.monotonic() - began
    return result


@contextmanager
def running_store(root: Path, plugins: Path) -> Iterator[RealStore]:
    store = build_store(root, plugins)
    try:
        yield store
    finally:
        store.stop()
