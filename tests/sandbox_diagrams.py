"""Small diagrams for the sandbox tests: a start script, a timer then a script, a loop."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://bpmn.io/schema/bpmn">'
)


def start_script(key: str, code: str) -> str:
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="bad_script" name="坏脚本"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{escape(code)}</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="after" name="之后"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="bad_script"/>
    <bpmn:sequenceFlow id="f2" sourceRef="bad_script" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def timer_then_script(key: str, code: str, duration: str = "PT1S") -> str:
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>"{duration}"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="after_timer" name="定时后脚本"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{escape(code)}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="after_timer"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after_timer" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def xor_loop(key: str, after_timer: bool = True) -> str:
    """An exclusive gateway whose back edge is always taken: SpiffWorkflow stops following
    it at depth 1000 and calls the workflow completed while a task is still READY."""
    wait = (
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"PT1S"</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:intermediateCatchEvent><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="merge"/>'
        if after_timer
        else '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="merge"/>'
    )
    outgoing = "f0" if after_timer else "f1"
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:startEvent>
    {wait}
    <bpmn:exclusiveGateway id="merge">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>back</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:scriptTask id="count">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing><bpmn:script>n = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="out">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>back</bpmn:outgoing><bpmn:outgoing>out</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="back" sourceRef="again" targetRef="merge">
      <bpmn:conditionExpression>True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:userTask id="never" name="不会到达"><bpmn:incoming>out</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="count"/>
    <bpmn:sequenceFlow id="f3" sourceRef="count" targetRef="again"/>
    <bpmn:sequenceFlow id="out" sourceRef="again" targetRef="never"/>
    <bpmn:sequenceFlow id="f4" sourceRef="never" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def deploy(client, xml: str, name: str, extra: dict[str, bytes] | None = None):
    data = {"f1": (io.BytesIO(xml.encode("utf-8")), name)}
    for i, (filename, content) in enumerate((extra or {}).items()):
        data[f"x{i}"] = (io.BytesIO(content), filename)
    return client.post("/api/process-definitions", data=data, content_type="multipart/form-data")
