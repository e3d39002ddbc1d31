// bpmn.io's editors and viewers speak English; this is their `translate` service in the page's
// language (the <html lang> the server set). Chinese words for bpmn-js and its properties panel
// come from the npm package bpmn-js-i18n-zh (bundled into vendor/i18n/bpmn-zh.js as
// window.BpmnZh); the few labels it lacks, and all of dmn-js (which has no translation package),
// are ours, below. tests/browser/test_modeler_i18n.py lists any English label left on screen.
(function () {
  "use strict";

  // Labels of bpmn-js / bpmn-js-properties-panel that bpmn-js-i18n-zh does not cover (yet).
  var BPMN_ZH = {
    "Open {element}": "打开 {element}",
    "Name": "名称",
    "ID": "ID",
    "Create data object reference": "创建数据对象引用",
    "Create data store reference": "创建数据存储引用",
    "Create expanded sub-process": "创建展开的子流程",
    "Append text annotation": "添加文本注释",
    "Process": "流程",
    "Participant": "参与者",
    "Lane": "泳道",
    "Text annotation": "文本注释",
    "Group": "组",
    "Category value": "分类值",
    "Data object reference": "数据对象引用",
    "Data store reference": "数据存储引用",
    "Inputs": "输入",
    "Outputs": "输出",
    "Condition": "条件",
    "Conditions": "条件",
    "Multi-instance": "多实例",
    "Search in diagram": "在图中搜索",
    "Search": "搜索",
    "Undo": "撤销",
    "Redo": "重做",
    "Ad-hoc sub-process (collapsed)": "临时子流程（折叠）",
    "Ad-hoc sub-process (expanded)": "临时子流程（展开）",
    "Toggle section": "展开/收起",
    "Section contains edits": "此部分有改动",
    "Section contains an error": "此部分有错误",
    // the panel's header names the element's type in Title Case ("User Task"); sentence() maps
    // most of them onto the package's words, these are the rest
    "Expanded sub-process": "展开的子流程",
    "Collapsed sub-process": "折叠的子流程",
    "Intermediate catch event": "中间捕获事件",
    "Boundary event": "边界事件",
    "Message flow": "消息流",
    "Association": "关联",
    "Data input association": "数据输入关联",
    "Data output association": "数据输出关联",
    "Collaboration": "协作",
    "Event-based gateway": "事件网关"
  };

  // dmn-js (decision requirements diagram, decision table, literal expression).
  var DMN_ZH = {
    // decision table: head, hit policy, cells
    "Hit policy": "命中策略",
    "Hit policy:": "命中策略：",
    "Unique": "唯一",
    "First": "首个",
    "Priority": "优先级",
    "Any": "任意",
    "Collect": "收集",
    "Collect (Sum)": "收集（求和）",
    "Collect (Min)": "收集（最小值）",
    "Collect (Max)": "收集（最大值）",
    "Collect (Count)": "收集（计数）",
    "Rule order": "规则顺序",
    "Output order": "输出顺序",
    "No overlap is possible and all rules are disjoint. Only a single rule can be matched": "规则互不重叠，只能命中一条规则",
    "Rules may overlap. The first matching rule will be chosen": "规则可以重叠，取第一条命中的规则",
    "Rules may overlap. The one with the highest priority will be chosen": "规则可以重叠，取优先级最高的规则",
    "Rules may overlap. Their output have to match": "规则可以重叠，它们的输出必须一致",
    "Collects the values of all matching rules": "收集所有命中规则的值",
    "Collects the values of all matching rules and sums up to a single value": "收集所有命中规则的值并求和",
    "Collects the values of all matching rules and uses the lowest value": "收集所有命中规则的值并取最小值",
    "Collects the values of all matching rules and uses the highest value": "收集所有命中规则的值并取最大值",
    "Collects the values of all matching rules and counts the number of them": "收集所有命中规则的值并计数",
    "Collects the values of all matching rules in rule order": "按规则顺序收集所有命中规则的值",
    "Collects the values of all matching rules in decreasing output priority order": "按输出优先级从高到低收集所有命中规则的值",
    "When": "当",
    "And": "且",
    "Then": "则",
    "Annotation": "注释",
    "Annotations": "注释",
    "Input": "输入",
    "Output": "输出",
    "Add input": "添加输入",
    "Add output": "添加输出",
    "Add rule": "添加规则",
    "Add rule above": "在上方添加规则",
    "Add rule below": "在下方添加规则",
    "Add input column left": "在左侧添加输入列",
    "Add input column right": "在右侧添加输入列",
    "Add output column left": "在左侧添加输出列",
    "Add output column right": "在右侧添加输出列",
    "Copy input column": "复制输入列",
    "Copy output column": "复制输出列",
    "Copy rule": "复制规则",
    "Cut input column": "剪切输入列",
    "Cut output column": "剪切输出列",
    "Cut rule": "剪切规则",
    "Paste input column left": "粘贴输入列到左侧",
    "Paste input column right": "粘贴输入列到右侧",
    "Paste output column left": "粘贴输出列到左侧",
    "Paste output column right": "粘贴输出列到右侧",
    "Paste rule above": "粘贴规则到上方",
    "Paste rule below": "粘贴规则到下方",
    "Remove input column": "删除输入列",
    "Remove output column": "删除输出列",
    "Remove rule": "删除规则",
    "Move rule": "移动规则",
    "Resize": "调整大小",
    "Add cell description": "添加单元格说明",
    "Remove cell description": "删除单元格说明",
    "Change cell expression language": "更改单元格表达式语言",
    "Edit": "编辑",
    "Edit input": "编辑输入",
    "Edit output": "编辑输出",
    "Edit string": "编辑字符串",
    "Edit number": "编辑数字",
    "Edit boolean": "编辑布尔值",
    "Edit date": "编辑日期",
    "Edit date and time": "编辑日期和时间",
    "Edit time": "编辑时间",
    "Edit duration": "编辑时长",
    "Edit start date": "编辑开始日期",
    "Edit end date": "编辑结束日期",
    "Edit start date and time": "编辑开始日期和时间",
    "Edit end date and time": "编辑结束日期和时间",
    "Edit start time": "编辑开始时间",
    "Edit end time": "编辑结束时间",
    "Editing not supported for set expression language": "所设表达式语言不支持在此编辑",
    "Input label": "输入标签",
    "Input label: ": "输入标签：",
    "Input expression": "输入表达式",
    "Input expression: ": "输入表达式：",
    "Input type": "输入类型",
    "Input values": "输入值",
    "Output label": "输出标签",
    "Output label: ": "输出标签：",
    "Output name": "输出名称",
    "Output name: ": "输出名称：",
    "Output type": "输出类型",
    "Output values": "输出值",
    "Expression": "表达式",
    "Expression language": "表达式语言",
    "Expression language:": "表达式语言：",
    "Expression language: {expressionLanguageLabel}": "表达式语言：{expressionLanguageLabel}",
    "Enter expression": "输入表达式",
    "Type": "类型",
    "Value": "值",
    "Values": "值",
    "Predefined values": "预定义值",
    "Add predefined values": "添加预定义值",
    "Clear predefined values": "清除预定义值",
    "Add values": "添加值",
    "Custom values": "自定义值",
    "No values": "无值",
    "Strings must be in double quotes": "字符串必须放在双引号中",
    "Test type": "比较方式",
    "Comparison": "比较",
    "Comparison operator": "比较运算符",
    "Range": "范围",
    "Range start operator": "范围起点运算符",
    "Range start value": "范围起点值",
    "Range end operator": "范围终点运算符",
    "Range end value": "范围终点值",
    "Equals": "等于",
    "Less": "小于",
    "Less or equals": "小于或等于",
    "Greater": "大于",
    "Greater or equals": "大于或等于",
    "Include": "包含",
    "Exclude": "不包含",
    "Match one": "匹配其一",
    "Match none": "均不匹配",
    "Exactly": "恰好",
    "Before": "早于",
    "After": "晚于",
    "Between": "介于",
    "Start value": "起始值",
    "End value": "结束值",
    "Set value": "设定值",
    "Yes": "是",
    "No": "否",
    "String value": "字符串值",
    "Boolean value": "布尔值",
    "Date": "日期",
    "Time": "时间",
    "Date and time": "日期和时间",
    "Date value": "日期值",
    "Time value": "时间值",
    "Date and time value": "日期和时间值",
    "Duration value": "时长值",
    "Set date": "设定日期",
    "Set time": "设定时间",
    "Set date and time": "设定日期和时间",
    "Set duration": "设定时长",
    "Start date": "开始日期",
    "End date": "结束日期",
    "Start date and time": "开始日期和时间",
    "End date and time": "结束日期和时间",
    "Start time": "开始时间",
    "End time": "结束时间",
    "Use now": "使用当前时间",
    "Use today": "使用今天",
    "e.g. { example } ": "例如 { example } ",
    "e.g. { sample }": "例如 { sample }",
    "Decision name": "决策名称",
    "Decision name: ": "决策名称：",
    "View DRD": "查看决策需求图",
    // decision requirements diagram (DRD) and literal expressions
    "Activate hand tool": "启动手动工具",
    "Activate lasso tool": "启动套索工具",
    "Add text annotation": "添加文本注释",
    "Append business knowledge model": "添加业务知识模型",
    "Append decision": "添加决策",
    "Append input data": "添加输入数据",
    "Append knowledge source": "添加知识源",
    "Change type": "更改类型",
    "Connect to other element": "连接到其他元素",
    "Create decision": "创建决策",
    "Create input data": "创建输入数据",
    "Create knowledge model": "创建知识模型",
    "Create knowledge source": "创建知识源",
    "Delete": "删除",
    "Definition ID": "定义 ID",
    "Definition name": "定义名称",
    "Element name": "元素名称",
    "Literal expression": "字面表达式",
    "Literal expression editor": "字面表达式编辑器",
    "Variable name": "变量名",
    "Variable name:": "变量名：",
    "Variable type": "变量类型",
    "Variable type:": "变量类型：",
    "Add parameter": "添加参数",
    "Remove parameter": "删除参数",
    "Edit formal parameters": "编辑形式参数",
    "Edit function kind": "编辑函数类型",
    "Function kind: {kind}": "函数类型：{kind}",
    "Kind": "类型",
    "name": "名称"
  };

  // dmn-js writes these without its translate service; translateAttributes() fixes them on screen.
  var DMN_UNTRANSLATED = {
    "Move Input": "移动输入列",
    "Move Output": "移动输出列",
    "Decision table context menu": "决策表菜单"
  };

  // bpmn-js-token-simulation writes its labels without a translate service either.
  var SIMULATION_UNTRANSLATED = {
    "Token Simulation": "令牌模拟",
    "Trigger Event": "触发事件",
    "Set Sequence Flow": "选择要走的顺序流",
    "Add pause point": "添加暂停点",
    "Remove pause point": "移除暂停点",
    "Toggle Simulation Log": "显示或隐藏模拟日志",
    "Reset Simulation": "重置模拟",
    "Play/Pause Simulation": "播放或暂停模拟",
    "Play Simulation": "开始模拟",
    "Pause Simulation": "暂停模拟",
    "Finished": "已结束",
    "Not supported": "不支持",
    "Found unsupported elements": "发现不支持的元素",
    "Process started": "流程已开始",
    "Process finished": "流程已结束"
  };
  var UNTRANSLATED_PATTERNS = [
    [/^Set animation speed = (.*)$/, "动画速度 = $1"],
    [/^Focus process instance (.*)$/, "聚焦流程实例 $1"],
    [/^(.+) started$/, "$1 已开始"],
    [/^(.+) finished$/, "$1 已结束"]
  ];

  function untranslated(value) {
    var text = (value || "").trim();
    if (Object.prototype.hasOwnProperty.call(DMN_UNTRANSLATED, text)) { return DMN_UNTRANSLATED[text]; }
    if (Object.prototype.hasOwnProperty.call(SIMULATION_UNTRANSLATED, text)) { return SIMULATION_UNTRANSLATED[text]; }
    for (var i = 0; i < UNTRANSLATED_PATTERNS.length; i++) {
      if (UNTRANSLATED_PATTERNS[i][0].test(text)) { return text.replace(UNTRANSLATED_PATTERNS[i][0], UNTRANSLATED_PATTERNS[i][1]); }
    }
    return null;
  }

  // "Timer Boundary Event (Non Interrupting)" -> "Timer boundary event (non-interrupting)"
  function sentence(template) {
    return template.charAt(0) + template.slice(1).toLowerCase()
      .replace(/non interrupting/g, "non-interrupting").replace(/sub process/g, "sub-process")
      .replace(/ad hoc/g, "ad-hoc").replace(/event based/g, "event-based");
  }

  function chinese() {
    return (document.documentElement.lang || "").toLowerCase().indexOf("zh") === 0;
  }

  function words(kind) {
    if (!chinese()) { return {}; }
    var merged = {};
    var sources = kind === "dmn" ? [DMN_ZH] : [(window.BpmnZh && window.BpmnZh.words) || {}, BPMN_ZH];
    sources.forEach(function (source) {
      Object.keys(source).forEach(function (key) { merged[key] = source[key]; });
    });
    return merged;
  }

  window.AftersalesTranslate = {
    // An additionalModules entry for bpmn-js ("bpmn") or dmn-js ("dmn").
    module: function (kind) {
      var dictionary = words(kind);
      var has = function (key) { return Object.prototype.hasOwnProperty.call(dictionary, key); };
      function translate(template, replacements) {
        var text = has(template) ? dictionary[template] : has(sentence(template)) ? dictionary[sentence(template)] : template;
        return text.replace(/{([^}]+)}/g, function (_, key) {
          return replacements && replacements[key] !== undefined ? replacements[key] : "{" + key + "}";
        });
      }
      return { translate: ["value", translate] };
    },
    // Keeps the titles and aria-labels that dmn-js and the token simulation do not translate
    // (and the simulation's toggle text) in the page's language.
    translateAttributes: function (root) {
      if (!chinese() || !window.MutationObserver) { return; }
      function fix(element) {
        ["title", "aria-label"].forEach(function (name) {
          var value = element.getAttribute(name), text = value && untranslated(value);
          if (text) { element.setAttribute(name, text); }
        });
      }
      function fixText(element) {
        Array.prototype.forEach.call(element.childNodes, function (node) {
          var text = node.nodeType === 3 && untranslated(node.nodeValue);
          if (text) { node.nodeValue = node.parentNode.classList.contains("bts-toggle-mode") ? text + " " : text; }
        });
      }
      function sweep() {
        root.querySelectorAll("[title], [aria-label]").forEach(fix);
        root.querySelectorAll(".bts-toggle-mode, .bts-text").forEach(fixText);
      }
      new MutationObserver(sweep).observe(root, { subtree: true, childList: true, attributes: true,
                                                  attributeFilter: ["title", "aria-label"] });
      sweep();
    }
  };
})();
