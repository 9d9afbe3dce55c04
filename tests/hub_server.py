"""A small Hugging Face Hub lookalike for offline tests (stdlib only).

``LocalHub`` serves what ``huggingface_hub`` 2.4 and ``transformers`` need to push, list and download
repos: ``create_repo``/``delete_repo``, ``create_commit``/``upload_file``/``upload_folder`` (preupload + NDJSON
commit), ``repo_info``/``model_info``, ``list_repo_tree``/``list_repo_files``/``get_paths_info``,
``list_repo_commits``, ``whoami``, README validation, and ``HEAD``/``GET`` ``resolve`` (so ``hf_hub_download``,
``snapshot_download`` and ``from_pretrained`` work). Blobs live in a temp dir, the git-like state in memory.

Endpoints (``{t}`` is ``models``/``datasets``/``spaces``; repo ids are ``org/name``; revisions are ``main``
or a 40-hex commit sha)::

    POST   /api/repos/create            DELETE /api/repos/delete
    GET    /api/whoami-v2               POST   /api/validate-yaml
    GET    /api/{t}/{repo}[/revision/{rev}]       (id, sha, siblings, private, ...; ?blobs=1 adds sizes)
    GET    /api/{t}/{repo}/tree/{rev}[/{path}]    (?recursive=1)
    GET    /api/{t}/{repo}/commits/{rev}          POST /api/{t}/{repo}/paths-info/{rev}
    POST   /api/{t}/{repo}/preupload/{rev}        (always uploadMode "regular", with the current oid)
    POST   /api/{t}/{repo}/commit/{rev}           (NDJSON: header, file (base64), deletedFile, deletedFolder)
    HEAD/GET /[datasets/|spaces/]{repo}/resolve/{rev}/{path}   (X-Repo-Commit, quoted ETag, Range)

Each commit gets a new 40-hex sha and moves ``main``; old shas keep resolving. ``create_repo`` makes an initial
commit holding ``.gitattributes``, like the Hub. Errors carry the ``X-Error-Code`` the client maps to its
exceptions: ``RepoNotFound`` -> ``RepositoryNotFoundError``, ``RevisionNotFound`` -> ``RevisionNotFoundError``,
``EntryNotFound`` -> ``RemoteEntryNotFoundError`` (a subclass of ``EntryNotFoundError``). Write calls need any
``Authorization: Bearer ...`` header (pass ``token="hf_test"``); private repos need one to be read.

Environment: ``HF_ENDPOINT=http://127.0.0.1:PORT`` must be set before ``huggingface_hub`` is imported (it is read
once, at import); keep ``HF_HUB_OFFLINE`` unset and point ``HF_HOME`` at a temp dir (see ``tests/conftest.py``).
Xet: the server never advertises Xet (no ``X-Xet-*`` headers, preupload never answers ``lfs``), so no Xet/LFS
transfer is attempted even with ``hf_xet`` installed and ``HF_HUB_DISABLE_XET`` unset: no switch is needed. (With
``hf_xet`` importable, ``upload_folder`` takes its pipelined multi-commit path; with ``HF_HUB_DISABLE_XET=1`` it
takes the single ``create_commit`` path. Both work here, and a small folder gives one commit either way.)
``hub.requests`` lists every request served (``"METHOD /path -> status"``) to debug what a client asked for.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import shutil
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

_KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}
_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_LFS_EXTS = (b"bin", b"h5", b"onnx", b"pt", b"pth", b"safetensors", b"gguf", b"zip")
_GITATTRIBUTES = b"".join(b"*.%s filter=lfs diff=lfs merge=lfs -text\n" % ext for ext in _LFS_EXTS)
_API = r"/api/(?P<kind>models|datasets|spaces)/(?P<repo>[^/]+/[^/]+)"
_ROUTES: list[tuple[str, re.Pattern, callable]] = []


def git_oid(data: bytes) -> str:
    """Git blob sha1 of ``data``: the ETag/oid the Hub gives regular (non-LFS) files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def _route(verb: str, pattern: str):
    def register(fn):
        _ROUTES.append((verb, re.compile(pattern), fn))
        return fn

    return register


class HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str, commit: str | None = None, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.commit, self.extra = status, code, message, commit, extra


class LocalHub:
    """In-process Hub lookalike: ``with LocalHub() as hub: ...`` or ``url = hub.start()`` / ``hub.stop()``."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", root: str | Path | None = None):
        self.host, self.port, self._root = host, port, root
        self.repos: dict[tuple[str, str], dict] = {}  # (repo_type, repo_id) -> {private, refs, commits, ...}
        self.requests: list[str] = []  # "METHOD /path?query -> status"
        self._lock = threading.RLock()
        self._conns: set[socket.socket] = set()  # keep-alive connections, closed by stop()
        self._server: ThreadingHTTPServer | None = None
        self._tmp: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        if self._server is None:
            self._tmp = None if self._root else tempfile.mkdtemp(prefix="localhub-")
            self.blobs = Path(self._root or self._tmp) / "blobs"
            self.blobs.mkdir(parents=True, exist_ok=True)
            handler = type("Handler", (_Handler,), {"hub": self})
            self._server = ThreadingHTTPServer((self.host, self.port), handler)
            self._server.daemon_threads = True
            self.port = self._server.server_address[1]
            serve = {"target": self._server.serve_forever, "kwargs": {"poll_interval": 0.05}}
            threading.Thread(**serve, name="local-hub", daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            for conn in list(self._conns):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> LocalHub:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ storage (also handy to seed repos in tests)
    def create_repo(self, repo_id: str, repo_type: str = "model", private: bool = False) -> bool:
        """Create ``repo_id`` with an initial ``.gitattributes`` commit; False if it already exists."""
        with self._lock:
            if (repo_type, repo_id) in self.repos:
                return False
            self.repos[(repo_type, repo_id)] = dict(private=private, refs={}, commits={}, created=_now())
            self.commit(repo_id, {".gitattributes": _GITATTRIBUTES}, (), "initial commit", repo_type)
            return True

    def commit(self, repo_id: str, add: dict[str, bytes], delete=(), message="", repo_type="model",
               parent: str | None = None, branch: str = "main") -> str:  # fmt: skip
        """Commit ``add`` (path -> bytes) and ``delete`` (paths, ``dir/`` for folders) on ``branch``."""
        with self._lock:
            repo = self.repo(repo_type, repo_id)
            head = repo["refs"].get(branch)
            if parent is not None and parent != head:
                raise HubError(412, None, f"Parent commit {parent} is not the head of {branch} ({head})")
            files = dict(repo["commits"][head]["files"]) if head else {}
            for path in delete:
                gone = [p for p in files if p == path or p.startswith(path.rstrip("/") + "/")]
                if not gone:
                    raise HubError(404, "EntryNotFound", f"A file with this name doesn't exist: {path}")
                for p in gone:
                    del files[p]
            for path, data in add.items():
                files[path] = oid = git_oid(data)
                if not (self.blobs / oid).exists():
                    tmp = self.blobs / f"{oid}.{threading.get_ident()}.tmp"
                    tmp.write_bytes(data)
                    tmp.replace(self.blobs / oid)
            seed = json.dumps([repo_id, head, files, message, time.time_ns(), len(repo["commits"])])
            sha = hashlib.sha1(seed.encode()).hexdigest()
            repo["commits"][sha] = dict(files=files, parent=head, title=message or "update", date=_now())
            repo["refs"][branch] = sha
            return sha

    def repo(self, repo_type: str, repo_id: str, authorized: bool = True) -> dict:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None or (repo["private"] and not authorized):
            raise HubError(404, "RepoNotFound", f"Repository Not Found: {repo_id}")
        return repo

    def resolve(self, repo_type: str, repo_id: str, rev: str, authorized: bool = True) -> tuple[str, dict]:
        """``(commit sha, {path: oid})`` for a branch name or a commit sha."""
        with self._lock:
            repo = self.repo(repo_type, repo_id, authorized)
            sha = repo["refs"].get(rev, rev)
            if sha not in repo["commits"]:
                raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
            return sha, repo["commits"][sha]["files"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries a Content-Length
    hub: LocalHub

    def log_message(self, *args) -> None:  # keep pytest output quiet; see hub.requests
        pass

    def setup(self) -> None:
        super().setup()
        self.hub._conns.add(self.connection)

    def finish(self) -> None:
        self.hub._conns.discard(self.connection)
        super().finish()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))  # httpx never chunks ours
        try:
            for verb, regex, handler in _ROUTES:
                match = regex.fullmatch(url.path)
                if match and verb in (self.command, "GET" if self.command == "HEAD" else None):
                    return handler(self, **{k: v and unquote(v) for k, v in match.groupdict().items()})
            raise HubError(404, None, f"LocalHub does not implement {self.command} {url.path}")
        except HubError as e:
            message = e.message.encode("ascii", "replace").decode()  # headers must be latin-1
            headers = {"X-Error-Message": message, "X-Error-Code": e.code, "X-Repo-Commit": e.commit}
            self._send(e.status, json.dumps({"error": e.message, **e.extra}).encode(), headers)

    do_GET = do_HEAD = do_POST = do_DELETE = _dispatch

    def _send(self, status: int, body: bytes, headers: dict | None = None, ctype: str = "application/json"):
        self.hub.requests.append(f"{self.command} {self.path} -> {status}")
        self.send_response(status)
        headers = {"Content-Type": ctype, "Content-Length": str(len(body)), **(headers or {})}
        for key, value in headers.items():
            if value is not None:
                self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode())

    @property
    def authorized(self) -> bool:
        return self.headers.get("Authorization", "").startswith("Bearer ")

    def _require_auth(self) -> None:
        if not self.authorized:  # this message keeps the client from reporting a 401 as RepositoryNotFound
            raise HubError(401, None, "Invalid credentials in Authorization header")

    def _entries(self, kind: str, repo: str, rev: str, prefix: str = "", recursive: bool = True):
        """``(sha, [tree entries])`` under ``prefix``: files, plus the folders on their way."""
        sha, files = self.hub.resolve(_KINDS[kind], repo, rev, self.authorized)
        out: dict[str, dict] = {}
        for path, oid in sorted(files.items()):
            if prefix and not path.startswith(prefix + "/"):
                continue
            parts = path[len(prefix) + 1 if prefix else 0 :].split("/")
            depth = len(parts) if recursive else 1
            for i in range(1, min(depth, len(parts) - 1) + 1):
                folder = "/".join(filter(None, [prefix, *parts[:i]]))
                out[folder] = {"type": "directory", "oid": git_oid(folder.encode()), "size": 0}
            if len(parts) <= depth:
                out[path] = {"type": "file", "oid": oid, "size": (self.hub.blobs / oid).stat().st_size}
        return sha, [{**entry, "path": path} for path, entry in out.items()]

    def _payload_repo(self) -> tuple[str, str, dict]:
        payload = json.loads(self.body)
        repo_id = f"{payload['organization'] or 'local-user'}/{payload['name']}"
        return payload.get("type") or "model", repo_id, payload

    # ------------------------------------------------------------------------------------------ endpoints
    @_route("GET", r"/api/whoami-v2")
    def whoami(self):
        self._require_auth()
        auth = {"type": "access_token", "accessToken": {"displayName": "local-test", "role": "write"}}
        self._json({"type": "user", "id": "0" * 24, "name": "local-user", "fullname": "Local user", "orgs": [],
                    "auth": auth})  # fmt: skip

    @_route("POST", r"/api/validate-yaml")
    def validate_yaml(self):
        content = json.loads(self.body or b"{}").get("content", "")
        if content.startswith("---") and "\n---" not in content[3:]:
            return self._json({"errors": [{"message": "YAML front matter is not closed"}]}, status=400)
        self._json({"errors": [], "warnings": []})

    @_route("POST", r"/api/repos/create")
    def create_repo(self):
        self._require_auth()
        kind, repo_id, payload = self._payload_repo()
        private = payload.get("visibility", "private" if payload.get("private") else "public") != "public"
        url = f"{self.hub.url}/{_PREFIX[kind]}{repo_id}"
        if not self.hub.create_repo(repo_id, kind, private):
            raise HubError(409, None, f"You already created this {kind} repo", url=url)  # exist_ok reads url
        self._json({"url": url, "name": repo_id, "id": repo_id})

    @_route("DELETE", r"/api/repos/delete")
    def delete_repo(self):
        self._require_auth()
        kind, repo_id, _ = self._payload_repo()
        with self.hub._lock:
            self.hub.repo(kind, repo_id)
            del self.hub.repos[(kind, repo_id)]
        self._json({})

    @_route("GET", _API + r"(?:/revision/(?P<rev>[^/]+))?")
    def info(self, kind: str, repo: str, rev: str | None):
        sha, entries = self._entries(kind, repo, rev or "main")
        record = self.hub.repo(_KINDS[kind], repo)
        blobs = bool(self.query.get("blobs"))  # files_metadata=True
        siblings = [{"rfilename": e["path"], **({"size": e["size"], "blobId": e["oid"]} if blobs else {})}
                    for e in entries if e["type"] == "file"]  # fmt: skip
        self._json({"_id": git_oid(repo.encode())[:24], "id": repo, "author": repo.split("/")[0], "sha": sha,
                    "private": record["private"], "disabled": False, "gated": False, "downloads": 0, "likes": 0,
                    "tags": [], "siblings": siblings, "createdAt": record["created"],
                    "lastModified": record["commits"][sha]["date"]})  # fmt: skip

    @_route("GET", _API + r"/tree/(?P<rev>[^/]+)(?:/(?P<sub>.*))?")
    def tree(self, kind: str, repo: str, rev: str, sub: str | None):
        recursive = self.query.get("recursive", "").lower() in ("1", "true")
        sha, entries = self._entries(kind, repo, rev, prefix=(sub or "").strip("/"), recursive=recursive)
        if sub and not entries:
            raise HubError(404, "EntryNotFound", f"{sub} does not exist on {rev}", commit=sha)
        self._json(entries)  # one page: no Link header

    @_route("POST", _API + r"/paths-info/(?P<rev>[^/]+)")
    def paths_info(self, kind: str, repo: str, rev: str):
        paths = {p.strip("/") for p in parse_qs(self.body.decode()).get("paths", [])}
        self._json([e for e in self._entries(kind, repo, rev)[1] if e["path"] in paths])

    @_route("GET", _API + r"/commits/(?P<rev>[^/]+)")
    def commits(self, kind: str, repo: str, rev: str):
        sha, _ = self.hub.resolve(_KINDS[kind], repo, rev, self.authorized)
        history, commits = [], self.hub.repo(_KINDS[kind], repo)["commits"]
        while sha:
            c = commits[sha]
            authors = [{"user": "local-user"}]
            history.append(
                {"id": sha, "authors": authors, "date": c["date"], "title": c["title"], "message": ""}
            )
            sha = c["parent"]
        self._json(history)

    @_route("POST", _API + r"/preupload/(?P<rev>[^/]+)")
    def preupload(self, kind: str, repo: str, rev: str):
        self._require_auth()
        sha, files = self.hub.resolve(_KINDS[kind], repo, rev)
        answer = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": files.get(f["path"])}
                  for f in json.loads(self.body)["files"]]  # fmt: skip
        self._json({"files": answer, "commitOid": sha})

    @_route("POST", _API + r"/commit/(?P<rev>[^/]+)")
    def commit(self, kind: str, repo: str, rev: str):
        self._require_auth()
        if self.query.get("create_pr"):
            raise HubError(400, None, "LocalHub does not support pull requests (create_pr)")
        self.hub.resolve(_KINDS[kind], repo, rev)
        if rev not in self.hub.repo(_KINDS[kind], repo)["refs"]:
            raise HubError(400, None, f"Cannot commit to {rev}: not a branch")
        header, add, delete = {}, {}, []
        for line in filter(None, self.body.decode().splitlines()):
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                header = value
            elif key == "file":
                add[value["path"]] = base64.b64decode(value["content"])
            elif key in ("deletedFile", "deletedFolder"):
                delete.append(value["path"] + ("/" if key == "deletedFolder" else ""))
            else:  # lfsFile: never requested, since preupload answers "regular"
                raise HubError(400, None, f"LocalHub does not support commit operation {key!r}")
        message, parent = header.get("summary", ""), header.get("parentCommit")
        new = self.hub.commit(repo, add, delete, message, _KINDS[kind], parent, branch=rev)
        url = f"{self.hub.url}/{_PREFIX[_KINDS[kind]]}{repo}/commit/{new}"
        self._json({"success": True, "commitOid": new, "commitUrl": url, "pullRequestUrl": None})

    @_route(
        "GET", r"/(?:(?P<kind>datasets|spaces)/)?(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)"
    )
    def resolve(self, kind: str | None, repo: str, rev: str, path: str):
        sha, files = self.hub.resolve(_KINDS[kind or "models"], repo, rev, self.authorized)
        if path not in files:  # X-Repo-Commit lets the client cache the miss (.no_exist)
            raise HubError(404, "EntryNotFound", f"{path} does not exist on {rev}", commit=sha)
        data, status = (self.hub.blobs / files[path]).read_bytes(), 200
        headers = {"X-Repo-Commit": sha, "ETag": f'"{files[path]}"', "Accept-Ranges": "bytes"}
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if match and data and (match[1] or match[2]):
            size = len(data)
            start = int(match[1]) if match[1] else max(size - int(match[2]), 0)
            end = min(int(match[2]), size - 1) if match[1] and match[2] else size - 1
            if start > end:
                raise HubError(416, None, f"Range not satisfiable: {self.headers['Range']}", commit=sha)
            data, status = data[start : end + 1], 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._send(status, data, headers, ctype="application/octet-stream")
