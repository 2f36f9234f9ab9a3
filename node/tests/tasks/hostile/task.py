"""The hello task, with a work part that first attacks the node running it.

Each attack's outcome goes to stderr as one line, `HOSTILE {json}`, which the
test reads from the node's log. An attack "succeeded" only if its outcome
starts with "ALLOWED".
"""

import base64
import ctypes
import hashlib
import json
import os
import signal
import socket
import sys
import time

HELLO = b"Hello, World!"


def attempt(outcomes, name, action):
    try:
        outcomes[name] = "ALLOWED " + repr(action())[:80]
    except BaseException as error:  # every refusal, whatever its kind
        outcomes[name] = f"refused {type(error).__name__}: {error}"[:160]


def in_child(action):
    """Runs `action` in a forked child: a forbidden system call kills only it."""
    pid = os.fork()
    if pid == 0:
        try:
            action()
            os._exit(0)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        raise PermissionError(f"the child was killed by signal {os.WTERMSIG(status)}")
    if os.WEXITSTATUS(status) != 0:
        raise PermissionError(f"the child failed with {os.WEXITSTATUS(status)}")
    return "done"


def ptrace_attach(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, pid, 0, 0) != 0:  # PTRACE_ATTACH
        raise PermissionError(os.strerror(ctypes.get_errno()))


def allocate(total):
    chunks = []
    for _ in range(total // (64 << 20)):
        chunk = bytearray(64 << 20)
        for page in range(0, len(chunk), 4096):
            chunk[page] = 1
        chunks.append(chunk)
    return f"{len(chunks) * 64} MiB touched"


def fork_past_the_cap(tries):
    children = []
    try:
        for _ in range(tries):
            pid = os.fork()
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
    finally:
        started = len(children)
        for pid in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    if started >= tries:
        return f"{started} processes"
    raise BlockingIOError(f"only {started} of {tries} processes started")


def leave_a_daemon():
    """A double-forked child that writes a heartbeat for 20 s."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            for _ in range(100):
                with open("heartbeat", "a") as beat:
                    beat.write(".")
                time.sleep(0.2)
        os._exit(0)
    os.wait()
    return "started"


def fill_disk():
    written = 0
    for index in range(3):
        with open(f"fill{index}", "wb") as fill:
            for _ in range(48):
                fill.write(b"\0" * (1 << 20))
                written += 1 << 20
    return f"{written >> 20} MiB written"


def attacks(outcomes, target_pid):
    files = [path for path in os.environ.get("TARGET_FILES", "").split(":") if path]
    dirs = [path for path in os.environ.get("TARGET_DIRS", "").split(":") if path]
    ports = [int(port) for port in os.environ.get("TARGET_PORTS", "").split(":") if port]
    for path in files:
        attempt(outcomes, f"read {path}", lambda path=path: open(path, "rb").read(64))
    for entry in ["cmdline", "environ", "mem"]:
        attempt(outcomes, f"read /proc/node/{entry}", lambda entry=entry: open(f"/proc/{target_pid}/{entry}", "rb").read(64))
    attempt(outcomes, "list /proc", lambda: os.listdir("/proc"))
    attempt(outcomes, "signal the node", lambda: os.kill(target_pid, signal.SIGTERM))
    attempt(outcomes, "signal the node's parent", lambda: os.kill(os.getppid(), signal.SIGTERM) if os.getppid() > 1 else (_ for _ in ()).throw(ProcessLookupError("no parent visible")))
    attempt(outcomes, "ptrace the node", lambda: in_child(lambda: ptrace_attach(target_pid)))
    for path in dirs + ["/tmp"]:
        attempt(outcomes, f"write in {path}", lambda path=path: open(os.path.join(path, "hostile-was-here"), "w").write("x"))
    for port in ports:
        attempt(outcomes, f"connect 127.0.0.1:{port}", lambda port=port: socket.create_connection(("127.0.0.1", port), timeout=2).close())
    attempt(outcomes, "allocate 2 GiB", lambda: allocate(2 << 30))
    attempt(outcomes, "fork 200 processes", lambda: fork_past_the_cap(200))
    attempt(outcomes, "mount", lambda: in_child(lambda: ctypes.CDLL(None).mount(b"none", b"/tmp", b"tmpfs", 0, None)))
    attempt(outcomes, "new namespace", lambda: in_child(lambda: os.unshare(os.CLONE_NEWUSER)))


def attacks_me(node):
    mode = os.environ.get("HOSTILE", "none")
    return mode == "all" or (mode == "some" and hashlib.sha256(node.encode()).digest()[0] % 2 == 0)


def work(request):
    node = request.get("node", "")
    if os.environ.get("HOSTILE") == "probe":
        # Only reads, safe to run unsandboxed: what the node's own rights allow.
        outcomes = {}
        for path in [path for path in os.environ.get("TARGET_FILES", "").split(":") if path]:
            attempt(outcomes, f"read {path}", lambda path=path: open(path, "rb").read(64))
        sys.stderr.write("HOSTILE " + json.dumps({"node": node, "round": request["round"], "outcomes": outcomes}) + "\n")
    elif attacks_me(node):
        outcomes = {}
        attacks(outcomes, int(os.environ.get("TARGET_PID", "0") or 0))
        attempt(outcomes, "leave a daemon", leave_a_daemon)
        if request["round"] == 0:
            attempt(outcomes, "fill the disk quota", fill_disk)
        sys.stderr.write("HOSTILE " + json.dumps({"node": node, "round": request["round"], "outcomes": outcomes}) + "\n")
        sys.stderr.flush()
    return {"result": base64.b64encode(HELLO).decode()}


def main():
    request = json.loads(sys.stdin.readline())
    method = request.get("method")
    if method == "hello":
        answer = {"protocol": 1, "parts": ["work", "audit"]}
    elif method == "work":
        answer = work(request)
    elif method == "audit":
        result = base64.b64decode(request["result"])
        digest = request["submission"]["digest"]
        answer = {"valid": result == HELLO and hashlib.sha256(result).hexdigest() == digest}
    else:
        answer = {"error": f"unknown method {method}"}
    print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
