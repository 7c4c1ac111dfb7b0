"""Issue 15 over HTTP against the live stack: an Open311 GeoReport v2 client lists services, posts a
request, reads it back open with its agency and expected time, and closed after the unit replies and
the callback closes it; the citizen's progress lookup answers the right ticket only with the right
four digits, and is throttled after repeated misses."""
import requests

from tests.conftest import wait_for
from tests.e2e.test_unit_workflow import ENV, act, leader, wait_status

PUBLIC_SUMMARY = "已责令涉事KTV夜间停止营业并整改"
REPLY = {"result": "solved", "content": "经现场核查，涉事商户已整改并承诺夜间停止营业，噪音问题已解决。",
         "contacted_citizen": True, "public_summary": PUBLIC_SUMMARY}


def open311(stack, path, **params):
    return requests.get(f"{stack.url}/open311/v2/{path}", params=params, timeout=20)


def progress(stack, number, digits):
    return requests.get(f"{stack.url}/v1/progress", params={"number": number, "phone_last4": digits}, timeout=20)


def test_an_open311_client_flow_and_the_citizens_progress_lookup(running_stack):
    stack = running_stack
    api_key = stack.token("operator", user="open311.grid")   # a bearer token of the API serves as api_key

    services = open311(stack, "services.json")
    assert services.status_code == 200
    codes = {s["service_code"]: s for s in services.json()}
    assert codes["noise.commercial"]["service_name"] == "商业经营噪音" and codes["noise.commercial"]["group"] == "噪音污染"
    assert open311(stack, "services/nope.json").json() == [{"code": 404, "description": "service_code nope not found"}]

    posted = requests.post(f"{stack.url}/open311/v2/requests.json", timeout=20, data={
        "api_key": api_key, "jurisdiction_id": "anshan.gov.cn", "service_code": "noise.commercial",
        "lat": "41.1087", "long": "122.9946", "address_string": "铁西区兴盛街18号",
        "description": "楼下KTV每天凌晨两点仍在营业，噪音扰民严重", "first_name": "先生", "last_name": "王",
        "phone": "13900005678", "media_url": "https://img.example.cn/ktv.jpg"})
    assert posted.status_code == 201, posted.text
    number = posted.json()[0]["service_request_id"]
    refused = requests.post(f"{stack.url}/open311/v2/requests.json", data={"service_code": "noise"}, timeout=20)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403

    def read():
        answer = open311(stack, f"requests/{number}.json", api_key=api_key)
        assert answer.status_code == 200, answer.text
        return answer.json()[0]
    opened = wait_for(lambda: (r := read())["agency_responsible"] and r["expected_datetime"] and r, 10,
                      interval=0.2, message="agency and expected time")
    assert opened["status"] == "open" and opened["agency_responsible"] == "市环保局"
    assert opened["lat"] == 41.1087 and opened["address"] == "铁西区兴盛街18号"
    assert opened["media_url"] == "https://img.example.cn/ktv.jpg"
    view = stack.get(f"/v1/tickets/{number}").json()
    assert view["channel"] == "open311" and view["district"] == "tiexi" and view["type"] == "complain"

    # the progress lookup: the right ticket only with the right four digits
    found = progress(stack, number, "5678")
    assert found.status_code == 200, found.text
    assert found.json() == {"number": number, "status": "dispatched", "status_label": "已交办", "unit": "市环保局",
                            "due_date": view["deadline"]["due_date"], "replied_at": None, "reply_summary": None}
    wrong, unknown = progress(stack, number, "5679"), progress(stack, "AS20990101000001", "5678")
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json()["detail"].replace(number, "N") == unknown.json()["detail"].replace("AS20990101000001", "N")

    # the unit handles it: accept, leader review, reply (with a summary marked public); the callback closes it
    assert act(stack, number, "accept").status_code == 200
    wait_status(stack, number, "accepted")
    assert act(stack, number, "review", {"instructions": "请执法大队今晚夜查，依法处理并答复市民"}, **leader(ENV)).status_code == 200
    wait_status(stack, number, "reviewed")
    replied = act(stack, number, "reply", REPLY)
    assert replied.status_code == 200, replied.text
    wait_status(stack, number, "replied")
    after_reply = progress(stack, number, "5678").json()
    assert after_reply["reply_summary"] == PUBLIC_SUMMARY and after_reply["replied_at"]
    callback = stack.post(f"/v1/tickets/{number}/callbacks", {"reached": True, "satisfaction": "satisfied",
                                                              "solved": True})
    assert callback.status_code == 200, callback.text
    closed = wait_for(lambda: (r := read())["status"] == "closed" and r, 10, interval=0.2, message="closed")
    assert closed["status_notes"] == f"已办结：{PUBLIC_SUMMARY}"
    listed = open311(stack, "requests.json", api_key=api_key, status="closed", service_code="noise.commercial")
    assert number in [r["service_request_id"] for r in listed.json()]
    assert progress(stack, number, "5678").json()["status_label"] == "已办结"

    # repeated misses from one address are throttled (the limit is per gateway worker: 2 workers here)
    statuses = [progress(stack, number, f"{n:04d}").status_code for n in range(30)]
    assert 429 in statuses and set(statuses) <= {404, 429}
    throttled = progress(stack, number, "5678")
    if throttled.status_code != 429:  # the other worker answered; it throttles once it saw as many misses
        throttled = next(r for r in (progress(stack, number, f"{n:04d}") for n in range(30, 60))
                         if r.status_code == 429)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
