"""A corpus of malformed and unauthorised requests: each gets its documented status code and
error code (Azure's JSON envelope for the REST API, the storage XML for blobs), and none of them
changes the workspace (rows and files compared before and after)."""
import base64
import email.utils
import hashlib
import hmac
import http.client
import json
import re
import ssl
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import cli, fingerprint, workspace_path

API = "?api-version=2024-04-01"
MIB = 1024 * 1024
COMMAND_JOB = {"properties": {"jobType": "Command", "command": "echo hi",
                              "environmentId": "azureml:AzureML-sklearn-1.5@latest",
                              "computeId": "cpu-cluster"}}


def job_with(**changes):
    body = json.loads(json.dumps(COMMAND_JOB))
    body["properties"].update(changes)
    return json.dumps(body)


class Raw:
    """Requests written byte for byte (no client-side path clean-up, any Content-Length)."""

    def __init__(self, server):
        self.port = server.port
        self.context = ssl.create_default_context(cafile=server.env_values()["REQUESTS_CA_BUNDLE"])

    def send(self, method, path, body=b"", headers=None, claimed_length=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context, timeout=60)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            if isinstance(body, str):
                body = body.encode()
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.putheader("Content-Length", str(claimed_length if claimed_length is not None else len(body)))
            conn.endheaders()
            if claimed_length is None and body:
                conn.send(body)
            r = conn.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            conn.close()


def error_code(text):
    try:
        return json.loads(text)["error"]["code"]
    except ValueError:
        m = re.search(r"<Code>([^<]*)</Code>", text)
        return m.group(1) if m else None


@pytest.fixture
def target(work, server):
    home, folder = work
    cli(home, "compute", "create", "--name", "cpu-cluster", "--max-instances", "1", cwd=folder)
    token = server.token()
    store = server.request("GET", workspace_path() + "/datastores/workspaceblobstore" + API, token).json()
    account = store["properties"]["accountName"]
    container = store["properties"]["containerName"]
    key = server.request("POST", workspace_path() + "/datastores/workspaceblobstore/listSecrets" + API,
                         token).json()["key"]
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas
    sas = generate_container_sas(account, container, account_key=key,
                                 permission=ContainerSasPermissions(read=True, write=True, create=True,
                                                                    list=True, delete=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    # A folder of the datastore that is a link out of it, to a folder outside $AMLEMU_HOME.
    outside = home.parent / "outside-target"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for blob clients")
    linked = next((home / "workspaces").rglob("datastores/workspaceblobstore"))
    (linked / "outside").symlink_to(outside)
    (linked / "present.txt").write_text("hello")
    return {"token": token, "blob": "/%s/%s" % (account, container), "sas": sas, "home": home,
            "outside": outside, "account": account, "container": container, "key": key}


def corpus(t):
    auth = {"Authorization": "Bearer " + t["token"], "Content-Type": "application/json"}
    ws = workspace_path()
    blob, sas = t["blob"], "?" + t["sas"]
    forged = re.sub(r"sig=([^&])", lambda m: "sig=" + ("A" if m.group(1) != "A" else "B"), sas)
    put_blob = {"x-ms-blob-type": "BlockBlob", "x-ms-version": "2023-11-03"}
    return [
        # (what, method, path, body, headers, claimed length, status, error code)
        ("truncated JSON", "PUT", ws + "/jobs/bad1" + API, '{"properties": {', auth, None, 400, "UserError"),
        ("a JSON array", "PUT", ws + "/jobs/bad2" + API, "[1, 2]", auth, None, 400, "UserError"),
        ("no body", "PUT", ws + "/jobs/bad3" + API, "", auth, None, 400, "UserError"),
        ("command is a number", "PUT", ws + "/jobs/bad4" + API, job_with(command=5), auth, None, 400, "UserError"),
        ("unknown job type", "PUT", ws + "/jobs/bad5" + API, job_with(jobType="Teleport"), auth, None, 400, "UserError"),
        ("inputs is a string", "PUT", ws + "/jobs/bad6" + API, job_with(inputs="data"), auth, None, 400, "UserError"),
        ("maxNodeCount is a word", "PUT", ws + "/computes/bad7" + API,
         json.dumps({"properties": {"computeType": "AmlCompute",
                                    "properties": {"scaleSettings": {"maxNodeCount": "four"}}}}),
         auth, None, 400, "UserError"),
        ("JSON nested 100000 deep", "PUT", ws + "/jobs/bad12" + API, "[" * 100000 + "]" * 100000,
         auth, None, 400, "UserError"),
        ("tags nested 100000 deep", "PUT", ws + "/models/bad13/versions/1" + API,
         '{"properties": {"modelUri": "azureml://datastores/workspaceblobstore/paths/present.txt", "tags": '
         + "[" * 100000 + "]" * 100000 + "}}", auth, None, 400, "UserError"),
        ("computeType is a number", "PUT", ws + "/computes/bad14" + API,
         json.dumps({"properties": {"computeType": 5}}), auth, None, 400, "UserError"),
        ("vmSize is an object", "PUT", ws + "/computes/bad15" + API,
         json.dumps({"properties": {"computeType": "AmlCompute",
                                    "properties": {"vmSize": {}, "scaleSettings": {"maxNodeCount": 1}}}}),
         auth, None, 400, "UserError"),
        ("modelType is a list", "PUT", ws + "/models/bad16/versions/1" + API,
         json.dumps({"properties": {"modelUri": "azureml://datastores/workspaceblobstore/paths/present.txt",
                                    "modelType": []}}), auth, None, 400, "UserError"),
        ("modelUri is a number", "PUT", ws + "/models/bad8/versions/1" + API,
         json.dumps({"properties": {"modelUri": 7}}), auth, None, 400, "UserError"),
        ("a 17 MiB JSON body", "PUT", ws + "/jobs/bad9" + API, "", auth, 17 * MIB, 413, None),
        ("no token", "GET", ws + "/jobs" + API, "", {}, None, 401, "AuthenticationFailed"),
        ("no token on a PUT", "PUT", ws + "/jobs/bad10" + API, json.dumps(COMMAND_JOB),
         {"Content-Type": "application/json"}, None, 401, "AuthenticationFailed"),
        # A large body is not even read without a credential: the answer comes at once (a
        # server that waited for the missing body would time the client out).
        ("a 1 MiB body without a token", "PUT", ws + "/jobs/bad17" + API, "",
         {"Content-Type": "application/json"}, MIB, 401, "AuthenticationFailed"),
        ("a 1 MiB body with a forged token", "PUT", ws + "/jobs/bad18" + API, "",
         dict(auth, Authorization="Bearer x.y.z"), MIB, 401, "AuthenticationFailed"),
        ("a 1 MiB blob without a signature", "PUT", blob + "/big.bin", "", put_blob, MIB, 403,
         "AuthenticationFailed"),
        ("a 1 MiB blob with a forged signature", "PUT", blob + "/big.bin" + forged, "", put_blob, MIB,
         403, "AuthenticationFailed"),
        ("a forged token", "PUT", ws + "/jobs/bad11" + API, json.dumps(COMMAND_JOB),
         dict(auth, Authorization="Bearer " + t["token"][:-2] + ("AA" if t["token"][-2:] != "AA" else "BB")),
         None, 401, "InvalidAuthenticationToken"),
        ("a workspace that does not exist", "GET",
         ws.replace("ws-service", "ws-none") + "/jobs" + API, "", auth, None, 404, "ResourceNotFound"),
        ("a blob name climbing out", "PUT", blob + "/%2E%2E/escape.txt" + sas, "x", put_blob, None,
         400, "InvalidResourceName"),
        ("a blob name climbing out mid-path", "PUT", blob + "/a/%2E%2E/%2E%2E/escape.txt" + sas, "x",
         put_blob, None, 400, "InvalidResourceName"),
        ("an absolute blob name", "PUT", blob + "/%2Fetc%2Fescape.txt" + sas, "x", put_blob, None,
         400, "InvalidResourceName"),
        # A symbolic link is never followed: what lies behind it is not a blob, and it is not a
        # folder to write into.
        ("a blob read through a link out", "GET", blob + "/outside/secret.txt" + sas, "", {}, None,
         404, "BlobNotFound"),
        ("a blob write through a link out", "PUT", blob + "/outside/escape.txt" + sas, "x", put_blob,
         None, 409, "PathConflict"),
        ("a blob write making folders through a link out", "PUT", blob + "/outside/new/escape.txt" + sas,
         "x", put_blob, None, 409, "PathConflict"),
        ("a blob name with a control character", "PUT", blob + "/bad%01name.txt" + sas, "x", put_blob,
         None, 400, "InvalidResourceName"),
        ("a blob name that is not UTF-8", "PUT", blob + "/bad%FFname.txt" + sas, "x", put_blob,
         None, 400, "InvalidResourceName"),
        ("a block list nested 100000 deep", "PUT", blob + "/deep.bin" + sas + "&comp=blocklist",
         "<a>" * 100000 + "</a>" * 100000, {"x-ms-version": "2023-11-03"}, None, 400, "InvalidXmlDocument"),
        ("a blob without a signature", "PUT", blob + "/plain.txt", "x", put_blob, None, 403,
         "AuthenticationFailed"),
        ("a blob with a forged signature", "PUT", blob + "/forged.txt" + forged, "x", put_blob, None,
         403, "AuthenticationFailed"),
        ("a 300 MiB blob", "PUT", blob + "/huge.bin" + sas, "", put_blob, 300 * MIB, 413, None),
        ("a block list that is not XML", "PUT", blob + "/blocks.bin" + sas + "&comp=blocklist",
         "<BlockList><Latest>", {"x-ms-version": "2023-11-03"}, None, 400, "InvalidXmlDocument"),
        ("a range backwards", "GET", blob + "/present.txt" + sas, "",
         {"x-ms-range": "bytes=5-1"}, None, 400, "InvalidRange"),
        ("a range past the end", "GET", blob + "/present.txt" + sas, "",
         {"x-ms-range": "bytes=100-200"}, None, 416, "InvalidRange"),
        ("a blob that does not exist", "GET", blob + "/nothing-here.txt" + sas, "", {}, None,
         404, "BlobNotFound"),
    ]


def test_malformed_requests_get_their_status_and_change_nothing(target, server):
    raw = Raw(server)
    before = fingerprint(target["home"])
    failures = []
    for what, method, path, body, headers, claimed, status, code in corpus(target):
        got, text = raw.send(method, path, body, headers, claimed)
        if got != status or (code is not None and error_code(text) != code):
            failures.append("%s: %s %s gave %d %s" % (what, method, path.split("?")[0], got, text[:300]))
    assert not failures, "\n".join(failures)
    assert fingerprint(target["home"]) == before
    assert sorted(p.name for p in target["outside"].iterdir()) == ["secret.txt"]
    # A listing does not look behind the link either, from the top or from the link's prefix.
    listing = raw.send("GET", target["blob"] + "?restype=container&comp=list&" + target["sas"])[1]
    assert "present.txt" in listing and "secret.txt" not in listing
    listing = raw.send("GET", target["blob"] + "?restype=container&comp=list&prefix=outside/&"
                       + target["sas"])[1]
    assert "secret.txt" not in listing
    # The server still answers after all that.
    assert server.request("GET", workspace_path() + "/jobs" + API, target["token"]).status_code == 200


def test_unknown_api_versions_are_accepted(target, server):
    for version in ("1999-01-01", "2099-12-31-preview", "not-a-date"):
        r = server.request("GET", workspace_path() + "/computes?api-version=" + version, target["token"])
        assert r.status_code == 200, (version, r.text)
        assert [c["name"] for c in r.json()["value"]] == ["cpu-cluster"]


def shared_key(t, method, blob, date):
    """A Shared Key Authorization header for a body-less request (service version 2023-11-03)."""
    canonical_headers = "x-ms-date:%s\nx-ms-version:2023-11-03\n" % date
    # Path-style: the URL's path, which starts with the account, after "/<account>" (as the
    # storage SDK signs it).
    resource = "/%s/%s/%s/%s" % (t["account"], t["account"], t["container"], blob)
    to_sign = method + "\n" * 12 + canonical_headers + resource
    mac = hmac.new(base64.b64decode(t["key"]), to_sign.encode(), hashlib.sha256).digest()
    return "SharedKey %s:%s" % (t["account"], base64.b64encode(mac).decode())


def test_shared_key_requests_expire_after_15_minutes(target, server):
    raw = Raw(server)
    path = target["blob"] + "/present.txt"
    for age, status in ((0, 200), (3600, 403), (-3600, 403)):
        date = email.utils.formatdate(time.time() - age, usegmt=True)
        got, text = raw.send("GET", path, headers={"x-ms-date": date, "x-ms-version": "2023-11-03",
                                                  "Authorization": shared_key(target, "GET", "present.txt", date)})
        assert got == status, (age, text)
        if status == 200:
            assert text == "hello"


def test_head_answers_carry_no_body_on_a_kept_alive_connection(target, server):
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=30,
                                       context=Raw(server).context)
    auth = {"Authorization": "Bearer " + target["token"]}
    try:
        for method in ("HEAD", "GET", "HEAD", "GET"):
            conn.request(method, workspace_path() + "/computes" + API, headers=auth)
            r = conn.getresponse()
            body = r.read()
            if method == "HEAD":
                assert body == b""
            else:
                assert r.status == 200 and json.loads(body)["value"][0]["name"] == "cpu-cluster"
    finally:
        conn.close()
