"""Threaded HTTP servers whose ``server_close`` waits for their request threads.

A plain ``ThreadingMixIn`` server with daemon request threads forgets them: a request, or an
idle keep-alive connection waiting for the next one, can outlive ``shutdown()`` and still be
running when the interpreter finalizes. A thread that then drops the last reference to torch
tensors aborts the whole process (the tensor destructor takes the GIL during finalization,
CPython answers with ``pthread_exit``, and unwinding through a C++ destructor calls
``std::terminate``). The in-process app and policy servers of ``run_loop`` serve torch models
from request threads, so they close like this instead.
"""
from __future__ import annotations

import logging
import socket
import socketserver
import threading
import time

logger = logging.getLogger(__name__)


class JoinedRequestThreads(socketserver.ThreadingMixIn):
    """Mix in before the server class. ``server_close`` ends idle keep-alive connections
    (their reading side is shut, so a response being written still completes) and joins every
    request thread, for at most ``join_timeout_s`` in all. Threads stay daemons, so a request
    hung past the bound cannot keep the process alive; it is logged."""

    daemon_threads = True
    join_timeout_s: float = 10.0

    def __init__(self, *args, **kwargs) -> None:
        self._request_threads: dict[threading.Thread, socket.socket] = {}
        self._request_threads_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address), daemon=True)
        with self._request_threads_lock:
            self._request_threads[thread] = request
        thread.start()

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._request_threads_lock:
                self._request_threads.pop(threading.current_thread(), None)

    def server_close(self) -> None:
        super().server_close()
        with self._request_threads_lock:
            running = dict(self._request_threads)
        for connection in running.values():
            try:
                connection.shutdown(socket.SHUT_RD)
            except OSError:  # already closed by its own thread
                pass
        deadline = time.monotonic() + self.join_timeout_s
        for thread in running:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        hung = [thread.name for thread in running if thread.is_alive()]
        if hung:
            logger.warning(
                "%d request thread(s) still running %.1f s after close: %s", len(hung), self.join_timeout_s, hung
            )
