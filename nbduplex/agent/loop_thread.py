"""An asyncio event loop running in its own daemon thread, with a thread pool for sync work.

The background agent hands tasks to it with `call_soon_threadsafe`, so the micro-turn loop
never waits; `stop()` cancels what still runs, stops the loop and joins the thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading

log = logging.getLogger(__name__)


class LoopThread:
    """Start on demand (`start()` is idempotent); `loop` is None while stopped."""

    def __init__(self, max_workers: int = 4, name: str = "nbduplex-agent") -> None:
        self.max_workers = max_workers  # threads for sync tools (the loop's default executor)
        self.name = name
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> asyncio.AbstractEventLoop:
        """Run the loop (if it is not running yet) and return it once it serves."""
        with self._lock:
            if self.alive and self.loop is not None:
                return self.loop
            loop = asyncio.new_event_loop()
            self._executor = concurrent.futures.ThreadPoolExecutor(
                self.max_workers, thread_name_prefix="nbduplex-tool"
            )
            loop.set_default_executor(self._executor)
            self.loop = loop
            ready = threading.Event()
            self._thread = threading.Thread(
                target=self._serve, args=(loop, ready), name=self.name, daemon=True
            )
            self._thread.start()
            ready.wait(5.0)
            return loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            loop.close()

    def stop(self, timeout: float = 2.0) -> None:
        """Cancel the loop's tasks, stop it, join the thread and drop the executor."""
        loop, thread = self.loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return

        async def shutdown() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=timeout)
        except Exception:
            log.warning("agent tasks did not stop within %g s", timeout)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self.loop = self._thread = self._executor = None
