"""Drive a complaint through the JSON API the way staff would, step by step."""

from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import ApiClient

REGISTER = {
    "customer_name": "王芳",
    "customer_phone": "138 0000 1234",
    "customer_email": "wang.fang@example.com",
    "product_model": "XC-200",
    "serial_no": "SN20260001",
    "channel": "phone",
    "description": "空调维修后仍然不制冷，已经第二次报修。",
}

VERIFY = {
    "category": "repair_quality",
    "severity": "normal",
    "verified": True,
    "verification_notes": "核实维修记录，属实。",
    "reply_to_customer": "已收到您的投诉，我们将在48小时内处理。",
}


@dataclass
class ComplaintDriver:
    users: dict[str, ApiClient]
    run_worker: object
    instance_id: int | None = None
    business_key: str | None = None

    def start(self, data: dict | None = None) -> dict:
        r = self.users["agent"].post("/api/process-instances", {"process_key": "complaint_handling", "data": data or REGISTER})
        assert r.status_code == 201, r.get_json()
        body = r.get_json()
        self.instance_id, self.business_key = body["id"], body["business_key"]
        self.run_worker()
        return body

    def open_tasks(self, who: str = "admin") -> dict[str, dict]:
        tasks = self.users[who].get(f"/api/tasks?instance_id={self.instance_id}").get_json()
        return {t["bpmn_id"]: t for t in tasks}

    def complete(self, bpmn_id: str, data: dict, who: str) -> None:
        task = self.open_tasks(who)[bpmn_id]
        r = self.users[who].post(f"/api/tasks/{task['id']}/complete", {"data": data})
        assert r.status_code == 200, r.get_json()
        self.run_worker()

    def instance(self) -> dict:
        return self.users["admin"].get(f"/api/process-instances/{self.instance_id}").get_json()

    def history_types(self) -> list[str]:
        return [e["type"] for e in self.users["admin"].get(f"/api/process-instances/{self.instance_id}/history").get_json()]

    def verified(self) -> dict:
        return self.users["auditor"].get(f"/api/process-instances/{self.instance_id}/verify").get_json()

    # the usual steps
    def verify(self, **overrides) -> None:
        self.complete("verify_complaint", {**VERIFY, **overrides}, "handler")

    def analyse(self, resolvable: bool, department: str = "service") -> None:
        self.complete(
            "analyse_complaint",
            {"cause": "维修工未更换损坏的压缩机电容。", "responsible_department": department, "resolvable": resolvable},
            "handler",
        )

    def propose(self) -> None:
        self.complete("propose_solution", {"solution": "免费上门更换电容并延长保修三个月。"}, "handler")

    def confirm(self, agrees: bool) -> None:
        self.complete(
            "confirm_with_customer", {"customer_agrees": agrees, "customer_comment": "好的" if agrees else "不接受"}, "handler"
        )

    def carry_out_and_close(self, satisfied: bool = True, score: int = 5) -> None:
        self.complete("carry_out_solution", {"action_taken": "已上门更换电容，试机正常。"}, "handler")
        self.complete(
            "notify_and_confirm",
            {"satisfied": satisfied, "satisfaction_score": score, "customer_feedback": "满意"},
            "handler",
        )

    def finish_capa(self, who_writes: str = "manager", who_checks: str = "admin") -> None:
        """A service-caused complaint's 纠正和预防措施处理单: written and carried out by the
        responsible department, found effective by sales (the case then ends)."""
        self.complete("write_capa", {"capa_measures": "电容更换后增加试机检查项，班组长复核。", "capa_due_days": 14},
                      who_writes)
        self.complete("implement_capa", {"implementation": "已修订检验单并培训维修工。"}, who_writes)
        self.complete("check_capa", {"effective": True, "verification_comment": "抽查三单，均已执行。"}, who_checks)
