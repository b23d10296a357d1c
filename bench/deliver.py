"""Delivery speed, end to end: PostgreSQL + Redis + 2 worker processes + DKIM, into Postfix's
smtp-sink on 127.0.0.1; and, in the same run, two ceilings: a bare smtplib loop pushing one
pre-built message of the same size over one connection to the same sink (``ceiling_rate``), and
four such loops at once, in four processes (``ceiling_parallel_rate``). Each ceiling is measured
before and after the delivery and the faster of the two is the one reported.

Targets (issue 14), for 100,000 subscribers: end to end >= 1.0x the one-connection ceiling
(``ratio``), also reported against the four-connection one (``ratio_parallel``); ledger fill
>= 50,000 rows/s; peak worker RSS < 150 MB.
``--profile`` adds what the workers reported per batch: microseconds per message sent spent on
rendering, DKIM, SMTP (handing over, reading replies) and waiting for the ledger; and the CPU time
per message of the workers, the SMTP sink and PostgreSQL.
Needs: smtp-sink (Debian ``postfix``), Redis and PostgreSQL on 127.0.0.1, openssl.
Usage: python bench/deliver.py --subscribers N [--json] [--profile]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from publisher.app import App
from publisher.edition.selection import EditionSpec
from publisher.settings import Settings
from publisher.subscribers.model import NewSubscriber

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("PUBLISHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("PUBLISHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--ceiling-messages", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="microseconds per message in each phase")
    args = parser.parse_args()
    if not Path(SMTP_SINK).exists():
        sys.exit("smtp-sink not found: apt-get install -y postfix")

    with tempfile.TemporaryDirectory() as tmp, _Services(tmp) as services:
        settings = services.settings
        log = (lambda *a: None) if args.json else (lambda *a: print(*a, file=sys.stderr))
        app = App(settings)
        app.db.upgrade()
        list(app.ingest([ROOT / "examples" / "articles"]))
        subscribers = [
            NewSubscriber(f"reader{i}@example.org", f"Reader {i}") for i in range(args.subscribers)
        ]
        app.subscribers.upsert_many(subscribers)
        day = EditionSpec.from_settings(settings).next_date(datetime.now(UTC))
        edition_id = app.delivery.create_edition("morning", day)
        record = app.delivery.editions.get(edition_id)
        assert record is not None

        # The ceilings run before and after the delivery; the better of the two counts (the
        # machine's noise, the database's vacuum after the run, only ever flatter ours).
        sample = _one_message(app, edition_id)
        ceiling_n = min(args.ceiling_messages, args.subscribers)
        ceiling_s = _ceiling(services.smtp_port, sample, ceiling_n)
        parallel_s = _parallel_ceiling(services.smtp_port, sample, ceiling_n, connections=4)

        workers = services.start_workers(args.workers)
        log(f"{args.subscribers} subscribers, {args.workers} worker processes ready")
        sampler = _RssSampler(workers)
        sampler.start()

        cpu_before = _cpu_seconds(services, {w.pid for w in workers})
        started = time.perf_counter()
        filled = app.lifecycle.fill(edition_id, record.section_keys)
        fill_s = time.perf_counter() - started
        assert filled == args.subscribers, filled
        app.delivery.start(edition_id)
        # Counting the open rows costs PostgreSQL some milliseconds: seldom while many are left.
        while (left := app.delivery.ledger.open_count(edition_id)) > 0:
            time.sleep(1.0 if left > 2_000 else 0.05)
        seconds = time.perf_counter() - started
        cpu_after = _cpu_seconds(services, {w.pid for w in workers})
        sampler.stop()
        counts = app.delivery.ledger.counts(edition_id)
        if counts["sent"] != args.subscribers:
            sys.exit(f"not all sent: {counts}")
        log(f"delivered {counts['sent']} in {seconds:.1f} s (fill {fill_s:.2f} s)")

        ceiling_s = min(ceiling_s, _ceiling(services.smtp_port, sample, ceiling_n))
        log(f"ceiling: {ceiling_n} messages of {len(sample):,} bytes in {ceiling_s:.1f} s (the better run)")
        parallel_s = min(parallel_s, _parallel_ceiling(services.smtp_port, sample, ceiling_n, connections=4))
        log(f"ceiling, 4 connections: {ceiling_n} messages in {parallel_s:.1f} s (the better run)")
        app.close()
        profile = services.profile()

    rate = args.subscribers / seconds
    ceiling_rate = ceiling_n / ceiling_s
    parallel_rate = ceiling_n / parallel_s
    result: dict[str, object] = {
        "messages": args.subscribers,
        "seconds": round(seconds, 2),
        "rate": round(rate, 1),
        "ceiling_rate": round(ceiling_rate, 1),
        "ratio": round(rate / ceiling_rate, 3),
        "ceiling_parallel_rate": round(parallel_rate, 1),
        "ratio_parallel": round(rate / parallel_rate, 3),
        "ledger_fill_s": round(fill_s, 3),
        "peak_worker_rss_mb": round(sampler.peak_mb, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.profile:
        result["us_per_message"] = profile
        # CPU time (user + system) per message delivered, of the worker processes, the SMTP sink
        # and every PostgreSQL process (other databases' work included, if any), fill included.
        result["cpu_us_per_message"] = {
            name: round((cpu_after[name] - cpu_before[name]) / args.subscribers * 1e6) for name in cpu_after
        }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
        print(f"{'ledger_fill_rows_s':>20}: {round(args.subscribers / fill_s)}")
        print(f"{'message_bytes':>20}: {len(sample)}")


def _one_message(app: App, edition_id: int) -> bytes:
    """A message as the workers sent it: rendered for one subscriber and DKIM-signed."""
    from publisher.delivery.ledger import BatchRow
    from publisher.delivery.send import BatchSender

    compiled = app.delivery.compiled(edition_id)
    sender = BatchSender(app.settings, app.lifecycle, app.subscribers, compiled, app.open_mailer(),
                         signing_key=app.signing_key, signer=app.dkim_signer)  # fmt: skip
    row = BatchRow(1, edition_id, 1, "reader0@example.org", "Reader 0", None)
    return sender.build(row, sender.message_id(row))


def _ceiling(port: int, message: bytes, count: int, first: int = 0) -> float:
    conn = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(first, first + count):
        conn.sendmail("editions@news.example.com", [f"reader{i}@example.org"], message)
    seconds = time.perf_counter() - started
    conn.quit()
    return seconds


def _parallel_ceiling(port: int, message: bytes, count: int, connections: int) -> float:
    """``count`` messages over ``connections`` bare loops in as many processes, all at once."""
    share = count // connections
    with multiprocessing.get_context("fork").Pool(connections) as pool:
        started = time.perf_counter()
        pool.starmap(_ceiling, [(port, message, share, n * share) for n in range(connections)])
        return (time.perf_counter() - started) * count / (share * connections)


class _Services:
    """smtp-sink, a throw-away PostgreSQL database, a Redis key prefix, a DKIM key, the workers."""

    def __init__(self, tmp: str) -> None:
        self.tmp = Path(tmp)
        self.smtp_port = _free_port()
        self.db_name = f"bench_deliver_{uuid.uuid4().hex[:8]}"
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}:"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.batch_lines: list[str] = []

    def __enter__(self) -> _Services:
        self.sink = subprocess.Popen([SMTP_SINK, "-u", "postfix", f"127.0.0.1:{self.smtp_port}", "256"])
        self.admin = sa.create_engine(
            Settings(database_url=POSTGRES).sqlalchemy_url, isolation_level="AUTOCOMMIT"
        )
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.db_name}"'))
        key = self.tmp / "dkim.pem"
        subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
        self.settings = Settings(
            database_url=sa.make_url(POSTGRES)
            .set(database=self.db_name)
            .render_as_string(hide_password=False),
            redis_url=REDIS,
            redis_prefix=self.prefix,
            smtp_url=f"smtp://127.0.0.1:{self.smtp_port}",
            var_dir=str(self.tmp / "var"),
            site_url="https://news.example.com",
            secret_key="bench-only-signing-key-5d1e8c3a7f90b2",
            dkim_key_file=str(key),
            dkim_selector="bench",
            dkim_domain="news.example.com",
        )
        return self

    def start_workers(self, count: int) -> list[subprocess.Popen[bytes]]:
        env = {**os.environ, **{f"PUBLISHER_{k.upper()}": str(getattr(self.settings, k)) for k in (
            "database_url", "redis_url", "redis_prefix", "smtp_url", "var_dir", "site_url", "secret_key",
            "dkim_key_file", "dkim_selector", "dkim_domain")}}  # fmt: skip
        command = [str(Path(sys.executable).parent / "publisher"), "worker", "--concurrency", str(count),
                   "--queues", "editions,deliveries", "--loglevel", "info"]  # fmt: skip
        worker = subprocess.Popen(command, env=env, cwd=self.tmp, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        self.processes.append(worker)
        assert worker.stderr is not None
        deadline = time.monotonic() + 60
        for line in worker.stderr:
            if b" ready." in line:
                break
            if time.monotonic() > deadline:
                sys.exit("the worker did not start")
        threading.Thread(target=self._read_log, args=(worker,), daemon=True).start()
        return [worker]

    def _read_log(self, worker: subprocess.Popen[bytes]) -> None:
        assert worker.stderr is not None
        for line in worker.stderr:
            if b"us per message:" in line:
                self.batch_lines.append(line.decode("utf-8", "replace"))

    def profile(self) -> dict[str, float]:
        """Microseconds per message sent in each phase, over every batch the workers logged."""
        sent, totals = 0, {}
        for line in self.batch_lines:
            found = re.search(r": (\d+) sent; us per message: (.*)$", line.strip())
            if not found:
                continue
            n = int(found.group(1))
            sent += n
            for pair in found.group(2).split():
                name, value = pair.split("=")
                totals[name] = totals.get(name, 0.0) + float(value) * n
        return {name: round(total / sent, 1) for name, total in totals.items()} if sent else {}

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=60)
        self.sink.terminate()
        self.sink.wait(timeout=10)
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        self.admin.dispose()
        import redis

        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"{self.prefix}*"):
            client.delete(key)


class _RssSampler:
    """The largest resident set of any worker process (main or pool child), sampled every 0.2 s."""

    def __init__(self, workers: list[subprocess.Popen[bytes]]) -> None:
        self.pgids = {w.pid for w in workers}
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    if os.getpgid(int(pid)) not in self.pgids:
                        continue
                    status = Path(f"/proc/{pid}/status").read_text()
                except (OSError, ProcessLookupError):
                    continue
                for line in status.splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
            time.sleep(0.2)


def _cpu_seconds(services: _Services, worker_pgids: set[int]) -> dict[str, float]:
    """User + system CPU seconds so far of the workers (every process of their groups), the sink
    and PostgreSQL's processes."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = {"workers": 0.0, "smtp_sink": 0.0, "postgres": 0.0}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pgid = os.getpgid(int(pid))
        except (OSError, ProcessLookupError):
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if pgid in worker_pgids:
            totals["workers"] += used
        elif int(pid) == services.sink.pid:
            totals["smtp_sink"] += used
        elif name.startswith("postgres"):
            totals["postgres"] += used
    return totals


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
