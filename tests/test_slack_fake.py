"""The fake Slack API behaves like Slack for the real slack_sdk / Bolt clients."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from tests.fakes.slack_api import MAX_SECTION_TEXT, FakeSlack, block_errors

PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    # slack_sdk honours *_PROXY but not NO_PROXY: a proxy variable would send loopback traffic away.
    for var in PROXY_VARS:
        monkeypatch.delenv(var, raising=False)
    with FakeSlack() as f:
        yield f


@pytest.fixture()
def client(fake: FakeSlack) -> WebClient:
    return WebClient(base_url=fake.api_url, token="xoxb-test", timeout=5)


def section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# --------------------------------------------------------------------------- server basics


def test_server_listens_on_loopback_and_stops() -> None:
    with FakeSlack() as fake:
        assert fake.api_url.startswith("http://127.0.0.1:")
        assert fake.api_url.endswith("/api/")
        url = fake.api_url + "auth.test"
        assert fake.response_url("x") == f"{fake.base_url}/response/x"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


def test_unknown_path_is_404(fake: FakeSlack) -> None:
    status, body = raw_post(fake.base_url + "/nowhere", b"", {})
    assert (status, body) == (404, "not_found")


# --------------------------------------------------------------------------- auth


def test_auth_test_returns_identity_and_records_bearer_header(fake: FakeSlack, client: WebClient) -> None:
    resp = client.auth_test()
    assert resp["ok"] is True
    assert resp["team_id"] == fake.team_id
    assert resp["user_id"] == fake.bot_user_id
    assert resp["bot_id"] == fake.bot_id
    assert resp["url"] == "https://exchbot-test.slack.com/"
    assert resp["team"] and resp["user"]
    (call,) = fake.calls_to("auth.test")
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.token == "xoxb-test"
    assert call.kind in ("none", "form")
    assert call.ok and call.status == 200


@pytest.mark.parametrize("token", ["xoxb-invalid", "xoxp-user-token", "garbage"])
def test_bad_tokens_are_invalid_auth(fake: FakeSlack, token: str) -> None:
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=fake.api_url, token=token).auth_test()
    assert err.value.response["error"] == "invalid_auth"
    assert err.value.response.status_code == 200


def test_missing_token_is_not_authed(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=fake.api_url).auth_test()
    assert err.value.response["error"] == "not_authed"


def test_extra_invalid_tokens_can_be_added(fake: FakeSlack) -> None:
    fake.invalid_tokens.add("xoxb-revoked")
    with pytest.raises(SlackApiError) as err:
        WebClient(base_url=fake.api_url, token="xoxb-revoked").auth_test()
    assert err.value.response["error"] == "invalid_auth"


def test_token_in_form_body_is_accepted_but_not_in_json_body(fake: FakeSlack) -> None:
    status, body = raw_post(
        fake.api_url + "auth.test", b"token=xoxb-form", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200 and json.loads(body)["ok"] is True
    status, body = raw_post(
        fake.api_url + "auth.test",
        json.dumps({"token": "xoxb-json"}).encode(),
        {"Content-Type": "application/json; charset=utf-8"},
    )
    assert json.loads(body)["error"] == "not_authed"


def test_unknown_method(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("nonsense.method")
    assert err.value.response["error"] == "unknown_method"
    assert fake.calls_to("nonsense.method")[0].ok is False


def test_files_upload_v1_is_refused(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call("files.upload", data={"channels": "C1", "content": "x"})
    assert err.value.response["error"] == "method_deprecated"


def test_json_without_charset_draws_missing_charset_warning(fake: FakeSlack) -> None:
    _, body = raw_post(
        fake.api_url + "chat.postMessage",
        json.dumps({"channel": "C1", "text": "hi"}).encode(),
        {"Content-Type": "application/json", "Authorization": "Bearer xoxb-test"},
    )
    data = json.loads(body)
    assert data["ok"] is True
    assert data["warning"] == "missing_charset"
    assert data["response_metadata"]["warnings"] == ["missing_charset"]


# --------------------------------------------------------------------------- chat.*


def test_post_message_shape_and_json_wire_format(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_postMessage(channel="C0123", text="hello &amp; bye", unfurl_links=False)
    assert resp["ok"] is True
    assert resp["channel"] == "C0123"
    ts = resp["ts"]
    assert isinstance(ts, str) and "." in ts
    msg = resp["message"]
    assert msg["text"] == "hello &amp; bye"
    assert msg["ts"] == ts and msg["bot_id"] == fake.bot_id and msg["type"] == "message"
    assert "warning" not in resp.data  # slack_sdk sends a charset
    (call,) = fake.calls_to("chat.postMessage")
    assert call.kind == "json"
    assert call.params["unfurl_links"] is False
    assert call.warnings == []
    assert [m["ts"] for m in fake.messages("C0123")] == [ts]


def test_post_message_timestamps_are_unique(client: WebClient) -> None:
    stamps = {client.chat_postMessage(channel="C1", text=str(i))["ts"] for i in range(5)}
    assert len(stamps) == 5


def test_post_message_without_channel(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="", text="x")
    assert err.value.response["error"] == "channel_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_without_text_or_blocks(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1")
    assert err.value.response["error"] == "no_text"


def test_post_message_text_too_long(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="x" * 40001)
    assert err.value.response["error"] == "msg_too_long"


def test_fifty_blocks_pass_fifty_one_fail(client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="ok", blocks=[section("b")] * 50)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="too many", blocks=[section("b")] * 51)
    data = err.value.response.data
    assert data["error"] == "invalid_blocks"
    assert data["errors"] == ["no more than 50 items allowed [json-pointer:/blocks]"]
    assert data["response_metadata"]["messages"] == ["[ERROR] no more than 50 items allowed [json-pointer:/blocks]"]


def test_section_text_limit(client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="ok", blocks=[section("a" * MAX_SECTION_TEXT)])
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="long", blocks=[section("a" * (MAX_SECTION_TEXT + 1))])
    assert err.value.response["error"] == "invalid_blocks"
    assert "[json-pointer:/blocks/0/text/text]" in err.value.response["errors"][0]


def test_block_errors_cover_fields_header_and_empty_text() -> None:
    assert block_errors([section("fine")]) == []
    fields = {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}
    assert block_errors([fields]) == ["no more than 10 items allowed [json-pointer:/blocks/0/fields]"]
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    assert block_errors([header]) == ["must be less than 151 characters [json-pointer:/blocks/0/text/text]"]
    assert block_errors([section("")]) == ["must be more than 0 characters [json-pointer:/blocks/0/text/text]"]
    assert block_errors("not a list") == ["must be an array [json-pointer:/blocks]"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_blocks_without_text_fallback_are_flagged(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", blocks=[section("only blocks")])
    client.chat_postMessage(channel="C1", text="fallback", blocks=[section("with text")])
    first, second = fake.calls_to("chat.postMessage")
    assert first.warnings == ["missing_text_in_blocks"]
    assert second.warnings == []
    assert fake.warnings == [("chat.postMessage", "missing_text_in_blocks")]


def test_form_encoded_blocks_are_validated(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.api_call(
            "chat.postMessage", params={"channel": "C1", "text": "t", "blocks": json.dumps([section("s")] * 51)}
        )
    assert err.value.response["error"] == "invalid_blocks"
    assert fake.calls_to("chat.postMessage")[0].kind == "form"


def test_channel_membership_and_archive(fake: FakeSlack, client: WebClient) -> None:
    fake.add_channel("C0PUBLIC", "news", is_member=False)
    fake.add_channel("G0SECRET", "secret", is_private=True, is_member=False)
    fake.add_channel("C0OLD", "old", is_archived=True)
    errors = []
    for channel in ("C0PUBLIC", "G0SECRET", "C0OLD"):
        with pytest.raises(SlackApiError) as err:
            client.chat_postMessage(channel=channel, text="x")
        errors.append(err.value.response["error"])
    assert errors == ["not_in_channel", "channel_not_found", "is_archived"]


def test_chat_update(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="working…")["ts"]
    resp = client.chat_update(channel="C1", ts=ts, text="done", blocks=[section("done")])
    assert resp["ok"] is True and resp["ts"] == ts and resp["channel"] == "C1"
    assert resp["text"] == "done"
    assert resp["message"]["blocks"] == [section("done")]
    (stored,) = fake.messages("C1")
    assert stored["text"] == "done" and "edited" in stored
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C1", ts="1.000000", text="x")
    assert err.value.response["error"] == "message_not_found"


def test_chat_post_ephemeral(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_postEphemeral(channel="C1", user="U0ALICE", text="only you")
    assert resp["ok"] is True and "." in resp["message_ts"]
    assert fake.calls_to("chat.postEphemeral")[0].params["user"] == "U0ALICE"
    with pytest.raises(SlackApiError) as err:
        client.chat_postEphemeral(channel="C1", user="", text="x")
    assert err.value.response["error"] == "user_not_in_channel"


def test_chat_get_permalink(client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    resp = client.chat_getPermalink(channel="C1", message_ts=ts)
    assert resp["permalink"] == f"https://exchbot-test.slack.com/archives/C1/p{ts.replace('.', '')}"
    with pytest.raises(SlackApiError) as err:
        client.chat_getPermalink(channel="C1", message_ts="9.9")
    assert err.value.response["error"] == "message_not_found"


# --------------------------------------------------------------------------- views, conversations, users


def test_views_publish_home(fake: FakeSlack, client: WebClient) -> None:
    view = {"type": "home", "blocks": [section("Welcome")]}
    resp = client.views_publish(user_id="U0ALICE", view=view)
    assert resp["ok"] is True
    assert resp["view"]["type"] == "home"
    assert resp["view"]["blocks"] == [section("Welcome")]
    assert resp["view"]["id"].startswith("V")
    assert fake.home_views["U0ALICE"]["blocks"] == [section("Welcome")]


def test_views_publish_rejects_bad_views(client: WebClient) -> None:
    bad = [
        {"type": "modal", "blocks": [section("x")]},
        {"type": "home", "blocks": [section("x")] * 101},
        {"type": "home", "blocks": [section("y" * 3001)]},
    ]
    for view in bad:
        with pytest.raises(SlackApiError) as err:
            client.views_publish(user_id="U0ALICE", view=view)
        assert err.value.response["error"] == "invalid_arguments"
        assert err.value.response["response_metadata"]["messages"]
    client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": [section("x")] * 100})


def test_conversations_info(fake: FakeSlack, client: WebClient) -> None:
    chan = client.conversations_info(channel="C0ABC")["channel"]
    assert chan["id"] == "C0ABC" and chan["is_channel"] is True and chan["is_private"] is False
    dm = client.conversations_info(channel="D0ABC")["channel"]
    assert dm["is_im"] is True
    fake.add_channel("G0SECRET", "secret", is_private=True, is_member=False)
    with pytest.raises(SlackApiError) as err:
        client.conversations_info(channel="G0SECRET")
    assert err.value.response["error"] == "channel_not_found"


def test_users_info(fake: FakeSlack, client: WebClient) -> None:
    fake.add_user("U0ALICE", "alice", real_name="Alice Example", tz="UTC")
    user = client.users_info(user="U0ALICE")["user"]
    assert user["id"] == "U0ALICE" and user["real_name"] == "Alice Example" and user["tz"] == "UTC"
    assert client.users_info(user="U0BOB")["user"]["id"] == "U0BOB"
    with pytest.raises(SlackApiError) as err:
        client.users_info(user="")
    assert err.value.response["error"] == "user_not_found"


# --------------------------------------------------------------------------- files


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"


def test_files_upload_v2_full_flow(fake: FakeSlack, client: WebClient) -> None:
    resp = client.files_upload_v2(
        channel="C1",
        file=PNG,
        filename="chart.png",
        title="Exchange builds",
        initial_comment="Chart attached",
        thread_ts="1700000000.000100",
    )
    assert resp["ok"] is True
    assert resp["file"]["id"].startswith("F")
    assert resp["file"]["title"] == "Exchange builds"
    assert [c.method for c in fake.calls] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    get_url = fake.calls_to("files.getUploadURLExternal")[0]
    assert get_url.params["filename"] == "chart.png" and int(get_url.params["length"]) == len(PNG)
    assert fake.calls_to("upload")[0].kind == "raw"
    (up,) = fake.uploads
    assert up.data == PNG
    assert up.filename == "chart.png"
    assert up.file_id == resp["file"]["id"]
    assert up.channel == "C1"
    assert up.initial_comment == "Chart attached"
    assert up.thread_ts == "1700000000.000100"
    assert up.title == "Exchange builds"
    assert up.completed is True


def test_upload_endpoint_accepts_multipart(fake: FakeSlack, client: WebClient) -> None:
    url_resp = client.files_getUploadURLExternal(filename="a.png", length=len(PNG))
    boundary = "XyZ123"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="filename"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + PNG
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, text = raw_post(url_resp["upload_url"], body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert (status, text) == (200, f"OK - {len(PNG)}")
    (up,) = fake.uploads
    assert up.data == PNG and up.content_type == "image/png" and up.completed is False


def test_upload_to_unknown_url_is_404(fake: FakeSlack) -> None:
    status, _ = raw_post(fake.base_url + "/upload/v1/bogus", b"data", {})
    assert status == 404
    assert fake.uploads == []


def test_complete_upload_errors(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        client.files_completeUploadExternal(files=[{"id": "F0NOPE", "title": "x"}], channel_id="C1")
    assert err.value.response["error"] == "file_not_found"
    announced = client.files_getUploadURLExternal(filename="a.txt", length=3)
    with pytest.raises(SlackApiError) as err:  # bytes never sent
        client.files_completeUploadExternal(files=[{"id": announced["file_id"]}], channel_id="C1")
    assert err.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as err:
        client.files_getUploadURLExternal(filename="", length=0)
    assert err.value.response["error"] == "invalid_arguments"


def test_upload_fault_escapes_files_upload_v2_as_http_error(fake: FakeSlack, client: WebClient) -> None:
    # slack_sdk does not wrap a failed upload POST: urllib's HTTPError leaks out, not SlackApiError.
    fake.fail_next("upload", error="internal_error", status=500, retry_after=None)
    with pytest.raises(urllib.error.HTTPError) as err:
        client.files_upload_v2(channel="C1", content=b"abc", filename="a.txt")
    assert err.value.code == 500
    assert fake.calls_to("files.completeUploadExternal") == []
    assert fake.uploads == []


# --------------------------------------------------------------------------- fault injection


def test_fail_next_rate_limit_surfaces_as_429(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C1", text="x")
    resp = err.value.response
    assert resp.status_code == 429
    assert resp["error"] == "ratelimited"
    assert resp.headers["Retry-After"] == "7"
    # one-shot: the next call goes through, and other methods were never affected
    assert client.chat_postMessage(channel="C1", text="x")["ok"] is True
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


def test_fail_next_queues_and_retry_handler_recovers(fake: FakeSlack) -> None:
    fake.fail_next("auth.test", retry_after=0)
    retrying = WebClient(
        base_url=fake.api_url, token="xoxb-test", retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    assert retrying.auth_test()["ok"] is True
    assert [c.status for c in fake.calls_to("auth.test")] == [429, 200]


def test_fail_next_with_ordinary_error(client: WebClient, fake: FakeSlack) -> None:
    fake.fail_next("chat.update", error="cant_update_message", status=200)
    fake.fail_next("chat.update", error="edit_window_closed", status=200)
    errors = []
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_update(channel="C1", ts="1.1", text="x")
        errors.append((err.value.response.status_code, err.value.response["error"]))
    assert errors == [(200, "cant_update_message"), (200, "edit_window_closed")]


def test_fail_always_until_cleared(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_always("auth.test", "account_inactive")
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.auth_test()
        assert err.value.response["error"] == "account_inactive"
    fake.clear_faults("auth.test")
    assert client.auth_test()["ok"] is True


def test_delay_makes_a_short_timeout_client_fail(fake: FakeSlack) -> None:
    fake.delay("auth.test", 2)
    impatient = WebClient(base_url=fake.api_url, token="xoxb-test", timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        impatient.auth_test()
    fake.delay("auth.test", 0)
    assert WebClient(base_url=fake.api_url, token="xoxb-test").auth_test()["ok"] is True


# --------------------------------------------------------------------------- response_url


def test_webhook_client_posts_json_to_response_url(fake: FakeSlack) -> None:
    hook = WebhookClient(url=fake.response_url("r1"))
    resp = hook.send(text="working…", response_type="ephemeral")
    assert (resp.status_code, resp.body) == (200, "ok")
    hook.send(text="done", blocks=[section("done")], replace_original=True)
    assert fake.responses("r1") == [
        {"text": "working…", "response_type": "ephemeral"},
        {"text": "done", "blocks": [section("done")], "replace_original": True},
    ]
    (first, _second) = fake.calls_to("response_url")
    assert first.headers["content-type"].startswith("application/json")


def test_bolt_respond_reaches_response_url(fake: FakeSlack) -> None:
    respond = Respond(response_url=fake.response_url("cmd"))
    resp = respond(text="verdict", replace_original=True)
    assert resp.status_code == 200
    assert fake.responses("cmd") == [{"text": "verdict", "replace_original": True}]


def test_bolt_app_slash_command_round_trip(fake: FakeSlack) -> None:
    app = App(
        client=WebClient(base_url=fake.api_url, token="xoxb-test"),
        signing_secret="unused",
        request_verification_enabled=False,
    )
    statuses: list[int] = []

    @app.command("/exch")
    def handle(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        statuses.append(respond(text=f"result for {command['text']}", replace_original=True).status_code)

    form = {"command": "/exch", "text": "mail.example.com", "team_id": fake.team_id, "user_id": "U0ALICE"}
    form.update({"channel_id": "C1", "trigger_id": "1.2.3", "response_url": fake.response_url("cmd")})
    headers: dict[str, str | Sequence[str]] = {"content-type": "application/x-www-form-urlencoded"}
    resp = app.dispatch(BoltRequest(body=urlencode(form), headers=headers))
    assert resp.status == 200
    assert fake.wait_for_responses("cmd") == [{"text": "result for mail.example.com", "replace_original": True}]
    assert fake.wait_for(lambda: statuses) == [200]
    assert fake.calls_to("auth.test")  # Bolt checks the token when the App is built


@pytest.mark.parametrize(
    ("status", "body"), [(404, "expired_url"), (500, "internal_error"), (410, "channel_is_archived")]
)
def test_response_url_status_is_returned_not_raised(fake: FakeSlack, status: int, body: str) -> None:
    url = fake.response_url("r1")
    fake.response_url_status("r1", status)
    resp = WebhookClient(url=url).send(text="x")
    assert (resp.status_code, resp.body) == (status, body)
    assert fake.responses("r1", accepted_only=True) == []
    assert fake.responses("r1") == [{"text": "x"}]
    fake.response_url_status("r1", 200)
    assert WebhookClient(url=url).send(text="y").status_code == 200


def test_response_url_use_limit(fake: FakeSlack) -> None:
    hook = WebhookClient(url=fake.response_url("r1"))
    statuses = [hook.send(text=str(i)).status_code for i in range(6)]
    assert statuses == [200] * 5 + [404]
    assert hook.send(text="again").body == "used_url"


def test_response_url_validation(fake: FakeSlack) -> None:
    hook = WebhookClient(url=fake.response_url("r1"))
    assert (hook.send(blocks=[section("x")] * 51, text="t").status_code, fake.calls[-1].response) == (
        400,
        "invalid_blocks",
    )
    assert hook.send(response_type="ephemeral").body == "no_text"
    assert hook.send(delete_original=True).status_code == 200
    assert hook.send(blocks=[section("no fallback")]).status_code == 200
    assert fake.warnings == [("response_url", "missing_text_in_blocks")]
    status, body = raw_post(fake.response_url("r1"), b"not json", {"Content-Type": "application/json"})
    assert (status, body) == (400, "invalid_payload")


def test_unregistered_response_url_is_404(fake: FakeSlack) -> None:
    resp = WebhookClient(url=f"{fake.base_url}/response/never-issued").send(text="x")
    assert (resp.status_code, resp.body) == (404, "no_service")


def test_fail_next_applies_to_response_url(fake: FakeSlack) -> None:
    fake.fail_next("response_url", error="rate_limited", status=429, retry_after=3)
    resp = WebhookClient(url=fake.response_url("r1")).send(text="x")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "3"


# --------------------------------------------------------------------------- waiting and concurrency


def test_wait_for_background_work(fake: FakeSlack, client: WebClient) -> None:
    worker = threading.Timer(0.05, lambda: client.chat_postMessage(channel="C1", text="late"))
    worker.start()
    try:
        calls = fake.wait_for_calls("chat.postMessage", timeout=5)
    finally:
        worker.join(5)
    assert calls[0].params["text"] == "late"


def test_wait_for_times_out_with_assertion(fake: FakeSlack) -> None:
    with pytest.raises(AssertionError, match="condition not met"):
        fake.wait_for(lambda: fake.calls_to("chat.postMessage"), timeout=0.05)


def test_concurrent_calls_are_all_recorded(fake: FakeSlack, client: WebClient) -> None:
    def post(i: int) -> None:
        for j in range(5):
            client.chat_postMessage(channel="C1", text=f"{i}-{j}")

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    calls = fake.calls_to("chat.postMessage")
    assert len(calls) == 40
    assert len({m["ts"] for m in fake.messages("C1")}) == 40


def test_clear_forgets_records(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x")
    fake.clear()
    assert fake.calls == [] and fake.messages("C1") == []
