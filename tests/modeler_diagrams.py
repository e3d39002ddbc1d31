# ruff: noqa: E501 - diagrams are XML written out line by line
"""Diagrams written for the modeler's import and round-trip tests (our own, written by hand).

- `miwg_like()`: the constructs of the OMG MIWG reference file B.2.0: a collaboration of two
  pools with lanes and message flows, every kind of task, gateways, boundary and intermediate
  events, data objects and a data store, a text annotation and a group, an expanded
  subprocess, and collapsed subprocesses (one nested) whose content is drawn on their own
  BPMNDiagram planes.
- `spiff_like()`: the extension elements of SpiffWorkflow's / SpiffArena's test diagrams,
  modelled by our panel or not (`properties`, `instructionsForEndUser`, `preScript`,
  `postScript`, `unitTests`, `taskMetadataValues`, `category`, `variableName`, a message
  payload), and foreign attributes and elements of a namespace nobody declares.
- `call_pair()`: a definition of two files, the main process calling the other one
  (the main file is not the alphabetically first).

`semantic()`, `di()` and `extensions()` describe a file element by element and shape by shape,
so that two files can be compared whatever their formatting or prefixes.
"""

from __future__ import annotations

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
ACME = "http://example.com/acme-extensions"

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:bpmndi="{BPMNDI}" xmlns:dc="{DC}" xmlns:di="{DI}" '
    f'xmlns:spiffworkflow="{SPIFF}" xmlns:acme="{ACME}" '
    'id="{id}" targetNamespace="http://example.com/bpmn" exporter="hand" exporterVersion="1">\n'
)


def _shape(element: str, x: int, y: int, w: int, h: int, extra: str = "", label: tuple | None = None) -> str:
    lab = ""
    if label:
        lab = f'<bpmndi:BPMNLabel><dc:Bounds x="{label[0]}" y="{label[1]}" width="{label[2]}" height="{label[3]}"/></bpmndi:BPMNLabel>'
    return (f'<bpmndi:BPMNShape id="{element}_di" bpmnElement="{element}"{extra}>'
            f'<dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/>{lab}</bpmndi:BPMNShape>\n')


def _edge(element: str, *points: tuple[int, int]) -> str:
    wps = "".join(f'<di:waypoint x="{x}" y="{y}"/>' for x, y in points)
    return f'<bpmndi:BPMNEdge id="{element}_di" bpmnElement="{element}">{wps}</bpmndi:BPMNEdge>\n'


def _plane(diagram: str, element: str, body: str) -> str:
    return (f'<bpmndi:BPMNDiagram id="{diagram}"><bpmndi:BPMNPlane id="{diagram}_plane" bpmnElement="{element}">\n'
            f'{body}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n')


def miwg_like() -> str:
    process = """
<bpmn:collaboration id="Collaboration_1">
  <bpmn:participant id="Pool_service" name="售后服务" processRef="service_main"/>
  <bpmn:participant id="Pool_customer" name="客户"/>
  <bpmn:messageFlow id="MF_request" name="报修" sourceRef="Pool_customer" targetRef="Start_message"/>
  <bpmn:messageFlow id="MF_reply" sourceRef="Send_reply" targetRef="Pool_customer"/>
  <bpmn:group id="Group_1" categoryValueRef="CategoryValue_1"/>
</bpmn:collaboration>
<bpmn:category id="Category_1"><bpmn:categoryValue id="CategoryValue_1" value="现场"/></bpmn:category>
<bpmn:dataStore id="DataStore_1" name="档案"/>
<bpmn:process id="service_main" name="服务主流程" isExecutable="true">
  <bpmn:laneSet id="LaneSet_1">
    <bpmn:lane id="Lane_desk" name="客服">
      <bpmn:flowNodeRef>Start_message</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_user</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Gateway_split</bpmn:flowNodeRef><bpmn:flowNodeRef>Send_reply</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Gateway_join</bpmn:flowNodeRef><bpmn:flowNodeRef>End_1</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Timer_boundary</bpmn:flowNodeRef><bpmn:flowNodeRef>Escalated</bpmn:flowNodeRef>
    </bpmn:lane>
    <bpmn:lane id="Lane_field" name="现场">
      <bpmn:flowNodeRef>Sub_collapsed</bpmn:flowNodeRef><bpmn:flowNodeRef>Sub_expanded</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>Task_manual</bpmn:flowNodeRef><bpmn:flowNodeRef>Catch_timer</bpmn:flowNodeRef>
    </bpmn:lane>
  </bpmn:laneSet>
  <bpmn:startEvent id="Start_message" name="收到报修"><bpmn:outgoing>F1</bpmn:outgoing>
    <bpmn:messageEventDefinition id="MED_1"/></bpmn:startEvent>
  <bpmn:userTask id="Task_user" name="登记"><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
    <bpmn:dataOutputAssociation id="DOA_1"><bpmn:targetRef>DataObjectRef_1</bpmn:targetRef></bpmn:dataOutputAssociation>
  </bpmn:userTask>
  <bpmn:boundaryEvent id="Timer_boundary" name="超时" attachedToRef="Task_user" cancelActivity="false">
    <bpmn:outgoing>F_esc</bpmn:outgoing><bpmn:timerEventDefinition id="TED_1"><bpmn:timeDuration>"PT24H"</bpmn:timeDuration></bpmn:timerEventDefinition>
  </bpmn:boundaryEvent>
  <bpmn:endEvent id="Escalated" name="已升级"><bpmn:incoming>F_esc</bpmn:incoming><bpmn:escalationEventDefinition id="EED_1"/></bpmn:endEvent>
  <bpmn:parallelGateway id="Gateway_split"><bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing><bpmn:outgoing>F4</bpmn:outgoing></bpmn:parallelGateway>
  <bpmn:subProcess id="Sub_collapsed" name="上门检修"><bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F5</bpmn:outgoing>
    <bpmn:startEvent id="C_start"><bpmn:outgoing>C_f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="C_script" name="派工" scriptFormat="python"><bpmn:incoming>C_f1</bpmn:incoming><bpmn:outgoing>C_f2</bpmn:outgoing><bpmn:script>crew = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:subProcess id="C_nested" name="备件"><bpmn:incoming>C_f2</bpmn:incoming><bpmn:outgoing>C_f3</bpmn:outgoing>
      <bpmn:startEvent id="N_start"><bpmn:outgoing>N_f1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:serviceTask id="N_service" name="查库存"><bpmn:incoming>N_f1</bpmn:incoming><bpmn:outgoing>N_f2</bpmn:outgoing></bpmn:serviceTask>
      <bpmn:endEvent id="N_end"><bpmn:incoming>N_f2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="N_f1" sourceRef="N_start" targetRef="N_service"/>
      <bpmn:sequenceFlow id="N_f2" sourceRef="N_service" targetRef="N_end"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="C_end"><bpmn:incoming>C_f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="C_f1" sourceRef="C_start" targetRef="C_script"/>
    <bpmn:sequenceFlow id="C_f2" sourceRef="C_script" targetRef="C_nested"/>
    <bpmn:sequenceFlow id="C_f3" sourceRef="C_nested" targetRef="C_end"/>
  </bpmn:subProcess>
  <bpmn:subProcess id="Sub_expanded" name="回访"><bpmn:incoming>F4</bpmn:incoming><bpmn:outgoing>F6</bpmn:outgoing>
    <bpmn:startEvent id="E_start"><bpmn:outgoing>E_f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sendTask id="E_send" name="发短信"><bpmn:incoming>E_f1</bpmn:incoming><bpmn:outgoing>E_f2</bpmn:outgoing></bpmn:sendTask>
    <bpmn:endEvent id="E_end"><bpmn:incoming>E_f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="E_f1" sourceRef="E_start" targetRef="E_send"/>
    <bpmn:sequenceFlow id="E_f2" sourceRef="E_send" targetRef="E_end"/>
  </bpmn:subProcess>
  <bpmn:manualTask id="Task_manual" name="签字"><bpmn:incoming>F6</bpmn:incoming><bpmn:outgoing>F7</bpmn:outgoing>
    <bpmn:property id="Property_sign" name="__targetRef_placeholder"/>
    <bpmn:dataInputAssociation id="DIA_1"><bpmn:sourceRef>DataStoreRef_1</bpmn:sourceRef><bpmn:targetRef>Property_sign</bpmn:targetRef></bpmn:dataInputAssociation>
  </bpmn:manualTask>
  <bpmn:intermediateCatchEvent id="Catch_timer" name="等一天"><bpmn:incoming>F7</bpmn:incoming><bpmn:outgoing>F8</bpmn:outgoing>
    <bpmn:timerEventDefinition id="TED_2"><bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
  <bpmn:parallelGateway id="Gateway_join"><bpmn:incoming>F5</bpmn:incoming><bpmn:incoming>F8</bpmn:incoming><bpmn:outgoing>F9</bpmn:outgoing></bpmn:parallelGateway>
  <bpmn:sendTask id="Send_reply" name="答复"><bpmn:incoming>F9</bpmn:incoming><bpmn:outgoing>F10</bpmn:outgoing></bpmn:sendTask>
  <bpmn:endEvent id="End_1" name="结束"><bpmn:incoming>F10</bpmn:incoming></bpmn:endEvent>
  <bpmn:dataObjectReference id="DataObjectRef_1" name="工单" dataObjectRef="DataObject_1"/>
  <bpmn:dataObject id="DataObject_1"/>
  <bpmn:dataStoreReference id="DataStoreRef_1" name="客户档案" dataStoreRef="DataStore_1"/>
  <bpmn:sequenceFlow id="F1" sourceRef="Start_message" targetRef="Task_user"/>
  <bpmn:sequenceFlow id="F2" sourceRef="Task_user" targetRef="Gateway_split"/>
  <bpmn:sequenceFlow id="F3" sourceRef="Gateway_split" targetRef="Sub_collapsed"/>
  <bpmn:sequenceFlow id="F4" sourceRef="Gateway_split" targetRef="Sub_expanded"/>
  <bpmn:sequenceFlow id="F5" sourceRef="Sub_collapsed" targetRef="Gateway_join"/>
  <bpmn:sequenceFlow id="F6" sourceRef="Sub_expanded" targetRef="Task_manual"/>
  <bpmn:sequenceFlow id="F7" sourceRef="Task_manual" targetRef="Catch_timer"/>
  <bpmn:sequenceFlow id="F8" sourceRef="Catch_timer" targetRef="Gateway_join"/>
  <bpmn:sequenceFlow id="F9" sourceRef="Gateway_join" targetRef="Send_reply"/>
  <bpmn:sequenceFlow id="F10" sourceRef="Send_reply" targetRef="End_1"/>
  <bpmn:sequenceFlow id="F_esc" sourceRef="Timer_boundary" targetRef="Escalated"/>
  <bpmn:textAnnotation id="Note_1"><bpmn:text>24 小时内必须上门</bpmn:text></bpmn:textAnnotation>
  <bpmn:association id="Assoc_1" sourceRef="Task_user" targetRef="Note_1"/>
</bpmn:process>
"""
    main = "".join([
        _shape("Pool_service", 100, 100, 1400, 500, ' isHorizontal="true"'),
        _shape("Lane_desk", 130, 100, 1370, 220, ' isHorizontal="true"'),
        _shape("Lane_field", 130, 320, 1370, 280, ' isHorizontal="true"'),
        _shape("Pool_customer", 100, 660, 1400, 80, ' isHorizontal="true"'),
        _shape("Start_message", 182, 182, 36, 36, label=(172, 225, 56, 14)),
        _shape("Task_user", 260, 160, 100, 80),
        _shape("Timer_boundary", 302, 222, 36, 36, label=(306, 265, 28, 14)),
        _shape("Escalated", 392, 262, 36, 36, label=(388, 305, 44, 14)),
        _shape("Gateway_split", 415, 175, 50, 50),
        _shape("Sub_collapsed", 520, 360, 100, 80, ' isExpanded="false"'),
        _shape("Sub_expanded", 520, 460, 360, 120, ' isExpanded="true"'),
        _shape("E_start", 550, 502, 36, 36),
        _shape("E_send", 630, 480, 100, 80),
        _shape("E_end", 792, 502, 36, 36),
        _shape("Task_manual", 930, 480, 100, 80),
        _shape("Catch_timer", 1082, 502, 36, 36, label=(1080, 545, 40, 14)),
        _shape("Gateway_join", 1075, 175, 50, 50),
        _shape("Send_reply", 1170, 160, 100, 80),
        _shape("End_1", 1332, 182, 36, 36, label=(1338, 225, 24, 14)),
        _shape("DataObjectRef_1", 292, 410, 36, 50, label=(298, 467, 24, 14)),
        _shape("DataStoreRef_1", 955, 370, 50, 50, label=(955, 427, 50, 14)),
        _shape("Note_1", 400, 110, 160, 30),
        _shape("Group_1", 500, 340, 410, 250),
        _edge("F1", (218, 200), (260, 200)),
        _edge("F2", (360, 200), (415, 200)),
        _edge("F3", (440, 225), (440, 400), (520, 400)),
        _edge("F4", (440, 225), (440, 520), (520, 520)),
        _edge("F5", (620, 400), (1100, 400), (1100, 225)),
        _edge("F6", (880, 520), (930, 520)),
        _edge("F7", (1030, 520), (1082, 520)),
        _edge("F8", (1118, 520), (1140, 520), (1140, 200), (1125, 200)),
        _edge("F9", (1125, 200), (1170, 200)),
        _edge("F10", (1270, 200), (1332, 200)),
        _edge("F_esc", (320, 258), (320, 280), (392, 280)),
        _edge("E_f1", (586, 520), (630, 520)),
        _edge("E_f2", (730, 520), (792, 520)),
        _edge("DOA_1", (300, 240), (305, 410)),
        _edge("DIA_1", (980, 420), (980, 480)),
        _edge("Assoc_1", (340, 160), (420, 140)),
        _edge("MF_request", (200, 660), (200, 218)),
        _edge("MF_reply", (1220, 240), (1220, 660)),
    ])
    collapsed = "".join([
        _shape("C_start", 180, 160, 36, 36),
        _shape("C_script", 260, 138, 100, 80),
        _shape("C_nested", 410, 138, 100, 80, ' isExpanded="false"'),
        _shape("C_end", 562, 160, 36, 36),
        _edge("C_f1", (216, 178), (260, 178)),
        _edge("C_f2", (360, 178), (410, 178)),
        _edge("C_f3", (510, 178), (562, 178)),
    ])
    nested = "".join([
        _shape("N_start", 180, 160, 36, 36),
        _shape("N_service", 260, 138, 100, 80),
        _shape("N_end", 412, 160, 36, 36),
        _edge("N_f1", (216, 178), (260, 178)),
        _edge("N_f2", (360, 178), (412, 178)),
    ])
    return (HEAD.replace("{id}", "Definitions_miwg") + process
            + _plane("Diagram_main", "Collaboration_1", main)
            + _plane("Diagram_collapsed", "Sub_collapsed", collapsed)
            + _plane("Diagram_nested", "C_nested", nested)
            + "</bpmn:definitions>\n")


def spiff_like() -> str:
    process = """
<bpmn:message id="Message_done" name="done"><bpmn:extensionElements>
  <spiffworkflow:messagePayload>{"order": order_no}</spiffworkflow:messagePayload>
  <spiffworkflow:messageVariable>reply</spiffworkflow:messageVariable></bpmn:extensionElements></bpmn:message>
<bpmn:process id="spiff_main" name="扩展元素" isExecutable="true" acme:owner="quality">
  <bpmn:extensionElements>
    <spiffworkflow:properties><spiffworkflow:property name="display_order" value="3"/></spiffworkflow:properties>
    <acme:sla hours="24"><acme:escalate to="manager"/></acme:sla>
  </bpmn:extensionElements>
  <bpmn:startEvent id="Start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="Ask" name="填写" acme:weight="2">
    <bpmn:extensionElements>
      <spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="ask-schema.json"/>
        <spiffworkflow:property name="formUiSchemaFilename" value="ask-uischema.json"/>
      </spiffworkflow:properties>
      <spiffworkflow:instructionsForEndUser>请填写 {{ order_no }}</spiffworkflow:instructionsForEndUser>
      <spiffworkflow:preScript>count = 0</spiffworkflow:preScript>
      <spiffworkflow:postScript>count = count + 1</spiffworkflow:postScript>
      <spiffworkflow:taskMetadataValues>
        <spiffworkflow:taskMetadataValue name="priority" value="high"/>
        <spiffworkflow:taskMetadataValue name="queue" value="order_no"/>
      </spiffworkflow:taskMetadataValues>
      <spiffworkflow:allowGuest>true</spiffworkflow:allowGuest>
    </bpmn:extensionElements>
    <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing>
  </bpmn:userTask>
  <bpmn:scriptTask id="Compute" name="计算" scriptFormat="python">
    <bpmn:extensionElements>
      <spiffworkflow:unitTests>
        <spiffworkflow:unitTest id="UT_1">
          <spiffworkflow:inputJson>{"count": 1}</spiffworkflow:inputJson>
          <spiffworkflow:expectedOutputJson>{"count": 1, "total": 2}</spiffworkflow:expectedOutputJson>
        </spiffworkflow:unitTest>
      </spiffworkflow:unitTests>
    </bpmn:extensionElements>
    <bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing>
    <bpmn:script>total = count * 2</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:dataObjectReference id="DataRef_total" name="合计" dataObjectRef="total"/>
  <bpmn:dataObject id="total">
    <bpmn:extensionElements><spiffworkflow:category>财务</spiffworkflow:category></bpmn:extensionElements>
  </bpmn:dataObject>
  <bpmn:serviceTask id="Notify" name="通知">
    <bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="notify/sms" resultVariable="sent">
        <spiffworkflow:parameters><spiffworkflow:parameter id="text" type="str" value="'done'"/></spiffworkflow:parameters>
      </spiffworkflow:serviceTaskOperator>
    </bpmn:extensionElements>
    <bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F4</bpmn:outgoing>
  </bpmn:serviceTask>
  <bpmn:intermediateThrowEvent id="Signal_done" name="发信号">
    <bpmn:extensionElements><spiffworkflow:variableName>signal_payload</spiffworkflow:variableName></bpmn:extensionElements>
    <bpmn:incoming>F4</bpmn:incoming><bpmn:outgoing>F5</bpmn:outgoing>
    <bpmn:messageEventDefinition id="MED_done" messageRef="Message_done"/>
  </bpmn:intermediateThrowEvent>
  <bpmn:endEvent id="End"><bpmn:incoming>F5</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="F1" sourceRef="Start" targetRef="Ask"/>
  <bpmn:sequenceFlow id="F2" sourceRef="Ask" targetRef="Compute"/>
  <bpmn:sequenceFlow id="F3" sourceRef="Compute" targetRef="Notify" acme:risk="low"/>
  <bpmn:sequenceFlow id="F4" sourceRef="Notify" targetRef="Signal_done"/>
  <bpmn:sequenceFlow id="F5" sourceRef="Signal_done" targetRef="End"/>
</bpmn:process>
"""
    main = "".join([
        _shape("Start", 152, 102, 36, 36),
        _shape("Ask", 240, 80, 100, 80),
        _shape("Compute", 390, 80, 100, 80),
        _shape("DataRef_total", 422, 205, 36, 50),
        _shape("Notify", 540, 80, 100, 80),
        _shape("Signal_done", 692, 102, 36, 36),
        _shape("End", 782, 102, 36, 36),
        _edge("F1", (188, 120), (240, 120)),
        _edge("F2", (340, 120), (390, 120)),
        _edge("F3", (490, 120), (540, 120)),
        _edge("F4", (640, 120), (692, 120)),
        _edge("F5", (728, 120), (782, 120)),
    ])
    return HEAD.replace("{id}", "Definitions_spiff") + process + _plane("Diagram_1", "spiff_main", main) + "</bpmn:definitions>\n"


def _simple(process_id: str, name: str, middles: list[str], lane: tuple[str, str] | None = None) -> str:
    """Start -> the middle elements in a row -> end; `middles` are templates with {id}, {i}, {o}.
    With `lane` (id, name) the process is a pool with that one lane."""
    ids = [f"Start_{process_id}"] + [f"Do{n}_{process_id}" for n in range(len(middles))] + [f"End_{process_id}"]
    flows = [f"F{n}_{process_id}" for n in range(len(ids) - 1)]
    nodes = [f'<bpmn:startEvent id="{ids[0]}"><bpmn:outgoing>{flows[0]}</bpmn:outgoing></bpmn:startEvent>']
    for n, middle in enumerate(middles):
        nodes.append(middle.format(id=ids[n + 1], i=flows[n], o=flows[n + 1]))
    nodes.append(f'<bpmn:endEvent id="{ids[-1]}"><bpmn:incoming>{flows[-1]}</bpmn:incoming></bpmn:endEvent>')
    nodes += [f'<bpmn:sequenceFlow id="{f}" sourceRef="{ids[n]}" targetRef="{ids[n + 1]}"/>' for n, f in enumerate(flows)]
    lanes = ""
    if lane:
        refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i in ids)
        lanes = f'<bpmn:laneSet id="LaneSet_{process_id}"><bpmn:lane id="{lane[0]}" name="{lane[1]}">{refs}</bpmn:lane></bpmn:laneSet>'
    body = f'<bpmn:process id="{process_id}" name="{name}" isExecutable="true">{lanes}' + "".join(nodes) + "</bpmn:process>\n"
    shapes, x = [], 182
    for n, element in enumerate(ids):
        if n in (0, len(ids) - 1):
            shapes.append(_shape(element, x, 122, 36, 36))
            x += 36
        else:
            shapes.append(_shape(element, x, 100, 100, 80))
            x += 100
        if n < len(flows):
            shapes.append(_edge(flows[n], (x, 140), (x + 50, 140)))
            x += 50
    plane_owner = process_id
    if lane:
        body = (f'<bpmn:collaboration id="Collab_{process_id}"><bpmn:participant id="Pool_{process_id}" name="{name}" '
                f'processRef="{process_id}"/></bpmn:collaboration>\n') + body
        shapes = [_shape(f"Pool_{process_id}", 100, 60, x + 40, 160, ' isHorizontal="true"'),
                  _shape(lane[0], 130, 60, x + 10, 160, ' isHorizontal="true"')] + shapes
        plane_owner = f"Collab_{process_id}"
    return (HEAD.replace("{id}", f"Definitions_{process_id}") + body
            + _plane(f"Diagram_{process_id}", plane_owner, "".join(shapes)) + "</bpmn:definitions>\n")


def call_pair() -> dict[str, str]:
    """`z_repair_order.bpmn` (main; its lane `维修车间` is no role's id or name and holds a user
    task) calls `a_parts_check.bpmn`, whose file sorts first."""
    caller = _simple(
        "repair_order", "维修单",
        ['<bpmn:callActivity id="{id}" name="查备件" calledElement="parts_check">'
         '<bpmn:incoming>{i}</bpmn:incoming><bpmn:outgoing>{o}</bpmn:outgoing></bpmn:callActivity>',
         '<bpmn:userTask id="{id}" name="确认"><bpmn:incoming>{i}</bpmn:incoming><bpmn:outgoing>{o}</bpmn:outgoing></bpmn:userTask>'],
        lane=("workshop", "维修车间"),
    )
    callee = _simple(
        "parts_check", "查备件",
        ['<bpmn:scriptTask id="{id}" name="查" scriptFormat="python"><bpmn:incoming>{i}</bpmn:incoming>'
         '<bpmn:outgoing>{o}</bpmn:outgoing><bpmn:script>in_stock = True</bpmn:script></bpmn:scriptTask>'],
    )
    return {"z_repair_order.bpmn": caller, "a_parts_check.bpmn": callee}


# ---------------------------------------------------------------- describing a file


def _canon(node) -> tuple:
    """A subtree as (qualified tag, sorted attributes, stripped text, children) - formatting free."""
    text = (node.text or "").strip()
    return (node.tag, tuple(sorted(node.attrib.items())), text, tuple(_canon(c) for c in node if isinstance(c.tag, str)))


def _root(xml: str):
    return etree.fromstring(xml.encode("utf-8"))


def semantic(xml: str) -> dict[str, tuple]:
    """Every BPMN model element with an id: its tag, its attributes (foreign ones included),
    its parent's id and its text content (scripts, expressions, flow node refs)."""
    result = {}
    for node in _root(xml).iter():
        if not isinstance(node.tag, str) or not node.tag.startswith("{" + BPMN) or node.get("id") is None:
            continue
        parent = node.getparent()
        while parent is not None and parent.get("id") is None:
            parent = parent.getparent()
        refs = tuple(sorted((c.tag, (c.text or "").strip()) for c in node
                            if isinstance(c.tag, str) and c.get("id") is None and c.tag.startswith("{" + BPMN)
                            and c.tag != f"{{{BPMN}}}extensionElements" and len(c) == 0))
        result[node.get("id")] = (node.tag, tuple(sorted(node.attrib.items())),
                                  parent.get("id") if parent is not None else None, refs)
    return result


def di(xml: str) -> dict[str, dict[str, tuple]]:
    """Per plane (by the element it draws): each shape's bounds and flags, each edge's waypoints, labels."""
    planes = {}
    for plane in _root(xml).iter(f"{{{BPMNDI}}}BPMNPlane"):
        drawn = {}
        for node in plane:
            if node.tag == f"{{{BPMNDI}}}BPMNShape":
                bounds = node.find(f"{{{DC}}}Bounds")
                label = node.find(f"{{{BPMNDI}}}BPMNLabel/{{{DC}}}Bounds")
                flags = tuple(sorted((k, v) for k, v in node.attrib.items() if k not in ("id", "bpmnElement")))
                drawn[node.get("bpmnElement")] = ("shape", _bounds(bounds), flags, _bounds(label))
            elif node.tag == f"{{{BPMNDI}}}BPMNEdge":
                points = tuple((float(p.get("x")), float(p.get("y"))) for p in node.iter(f"{{{DI}}}waypoint"))
                label = node.find(f"{{{BPMNDI}}}BPMNLabel/{{{DC}}}Bounds")
                drawn[node.get("bpmnElement")] = ("edge", points, _bounds(label))
        planes[plane.get("bpmnElement")] = drawn
    return planes


def _bounds(node) -> tuple | None:
    if node is None:
        return None
    return tuple(float(node.get(k)) for k in ("x", "y", "width", "height"))


def extensions(xml: str) -> dict[str, tuple]:
    """Each element's extension elements, whole subtrees, by the element's id."""
    result = {}
    for node in _root(xml).iter(f"{{{BPMN}}}extensionElements"):
        result[node.getparent().get("id")] = tuple(_canon(c) for c in node if isinstance(c.tag, str))
    return result
