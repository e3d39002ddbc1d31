from tests.conftest import FIXTURES, deploy_files


def test_eight_steps_runs_through_api(users, run_worker):
    owner, agent, tech = users["owner"], users["agent"], users["tech"]
    r = deploy_files(owner, [FIXTURES / "eight_steps.bpmn", FIXTURES / "eight-intake-schema.json"])
    assert r.status_code == 201, r.get_json()
    r = agent.post("/api/process-instances", {"process_key": "eight_steps", "data": {}})
    assert r.status_code == 201, r.get_json()
    iid = r.get_json()["id"]
    tasks = agent.get(f"/api/tasks?instance_id={iid}").get_json()
    assert [t["bpmn_id"] for t in tasks] == ["intake"]
    r = agent.post(f"/api/tasks/{tasks[0]['id']}/complete", {"data": {"amount": 500}})
    assert r.status_code == 200, r.get_json()
    tasks = tech.get(f"/api/tasks?instance_id={iid}").get_json()
    assert sorted(t["bpmn_id"] for t in tasks) == ["inspect", "repair"]
    for t in tasks:
        r = tech.post(f"/api/tasks/{t['id']}/complete", {"data": {}})
        assert r.status_code == 200, r.get_json()
    assert run_worker() >= 1
    inst = agent.get(f"/api/process-instances/{iid}").get_json()
    assert inst["status"] == "completed", inst
    assert inst["data"]["recorded"] == {"echo": {"total": 1000}}
    v = agent.get(f"/api/process-instances/{iid}/verify").get_json()
    assert v == {"verified": True, "events": 5}, v


def test_task_list_pages_and_filters(users):
    owner, agent = users["owner"], users["agent"]
    assert deploy_files(owner, [FIXTURES / "eight_steps.bpmn", FIXTURES / "eight-intake-schema.json"]).status_code == 201
    for _ in range(5):
        assert agent.post("/api/process-instances", {"process_key": "eight_steps", "data": {}}).status_code == 201
    everything = agent.get("/api/tasks").get_json()
    assert len(everything) == 5
    first, rest = agent.get("/api/tasks?limit=2").get_json(), agent.get("/api/tasks?limit=10&offset=2").get_json()
    assert [t["id"] for t in first + rest] == [t["id"] for t in everything]
    assert agent.get("/api/tasks?limit=0").status_code == 400
    assert agent.post(f"/api/tasks/{everything[0]['id']}/claim").status_code == 200
    assert [t["id"] for t in agent.get("/api/tasks?mine=1").get_json()] == [everything[0]["id"]]
    assert users["tech"].get("/api/tasks").get_json() == []  # not their lane
    assert len(users["admin"].get("/api/tasks").get_json()) == 5
