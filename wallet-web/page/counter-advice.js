// What the counter tells the clerk when something fails: every stable code a counter can meet
// (server/src, the federation's tier errors, wallet-core's codes passed through unchanged),
// each as plain Chinese that says what to do next. Registered with app.js's `advise` so
// `explain()` gives the same sentence everywhere; tier failures get their own wording below
// because the sentence depends on which tier failed.

import { advise, explain, Problem } from "/app/app.js";

const UNREADABLE = "无法识别的亮证码，请让申请人打开电子证照的亮证页面后重新扫描";
const INCOMPLETE = "亮证码内容不完整，请让申请人刷新后重新扫描";
const BAD_SEAL = "电子印章验证未通过，该证照不可信，请勿采用，并请申请人提供纸质材料";
const BAD_CERT_ID = "亮证码中的证照标识无效，请让申请人刷新后重新出示";
const ROUTING = "调阅请求转发异常，请稍后重试；如仍失败请联系系统管理员";
const PEER = "节点之间身份验证失败，请稍后重试；如仍失败请联系系统管理员";

advise({
  // Login and session.
  login_failed: "工号或密码错误，请核对后重新输入",
  internal: "系统繁忙，请稍后重试",
  invalid_json: "提交的数据格式错误，请刷新页面后重试",
  content_type_not_json: "提交的数据格式错误，请刷新页面后重试",
  payload_too_large: "扫描内容过长，不是有效的亮证码，请重新扫描",
  route_not_found: "受理系统版本不匹配，请刷新页面后重试",
  // Cases.
  matter_unknown: "事项不存在，请刷新页面后重新选择办理事项",
  case_not_found: "未找到该办件，请返回重新受理",
  case_closed: "该办件已办结，不能再调阅或办结，请受理新的办件",
  retrieval_not_found: "未找到该调阅记录，请重新扫描亮证码",
  score_invalid: "请选择1至5分的评价",
  comment_too_long: "评价内容不超过500字，请删减后再提交",
  case_not_finished: "办件办结后才能评价，请先办结",
  evaluation_exists: "该办件已评价，无需重复评价",
  archive_not_found: "未找到该核验码对应的存档记录，请核对核验码",
  // The scanned code.
  presentation_text_prefix: UNREADABLE,
  presentation_text_too_long: UNREADABLE,
  text_base45: UNREADABLE,
  presentation_version: "亮证码版本过新，请联系系统管理员升级受理系统",
  codec_truncated: INCOMPLETE,
  codec_too_long: INCOMPLETE,
  codec_trailing_bytes: INCOMPLETE,
  codec_utf8: INCOMPLETE,
  codec_tag: INCOMPLETE,
  codec_version: INCOMPLETE,
  codec_invalid: INCOMPLETE,
  presentation_expired: "亮证码已过期，请让申请人刷新",
  presentation_not_yet_valid: "亮证码时间异常，请申请人校准手机时间后刷新",
  presentation_signature_invalid: "亮证码签名验证失败，请让申请人刷新后重新扫描",
  presentation_presenter_mismatch: "亮证码签名验证失败，请让申请人刷新后重新扫描",
  presentation_lifetime_invalid: "亮证码参数无效，请让申请人刷新后重新出示",
  presentation_time_invalid: "亮证码参数无效，请让申请人刷新后重新出示",
  presentation_replayed: "该亮证码已使用，请让申请人刷新后重新出示",
  presentation_superseded: "亮证码已刷新，请扫描申请人手机上的最新亮证码",
  presenter_key_unknown: "出示人设备未登记，请让申请人重新登录电子证照后刷新亮证码",
  cert_id_length: BAD_CERT_ID,
  cert_id_charset: BAD_CERT_ID,
  cert_id_region: BAD_CERT_ID,
  cert_id_check_character: BAD_CERT_ID,
  cert_id_structure: BAD_CERT_ID,
  grant_id_malformed: "亮证码中的授权编号无效，请让申请人刷新后重新出示",
  // Grants (授权他人使用).
  grant_unknown: "未找到该授权，请申请人向证照持有人确认授权",
  grant_revoked: "该授权已被撤销，请联系证照持有人",
  grant_use_limit_reached: "该授权已撤销或使用次数已用完，请联系证照持有人重新授权",
  grant_matter_not_covered: "该授权不包含本事项，请联系证照持有人重新授权",
  grant_expired: "该授权已过期，请联系证照持有人重新授权",
  grant_not_yet_valid: "该授权尚未生效，请在授权生效后再办理",
  grant_grantee_mismatch: "出示人不是被授权人，请由被授权人本人出示",
  grant_signature_invalid: "授权签名验证失败，请联系证照持有人重新授权",
  grant_signer_mismatch: "授权签名验证失败，请联系证照持有人重新授权",
  grant_signer_revoked: "授权签名设备已注销，授权失效，请联系证照持有人重新授权",
  grant_signer_not_holder: "该授权不是证照持有人签署的，不能使用，请联系证照持有人",
  presenter_not_holder: "出示人不是持证人，请出示持证人的授权码，或由持证人本人出示",
  // The certificate at its owner.
  certificate_revoked: "该证照已注销，不能使用，请申请人提供其他有效材料",
  certificate_superseded: "该证照已被更正，请让申请人刷新后出示最新版本",
  certificate_not_found_here: "发证地系统未找到该证照，请让申请人刷新后重新出示",
  certificate_not_needed: "本事项不需要该证照，请让申请人出示本事项所需的证照",
  certificate_expired: "该证照已过有效期，请申请人提供其他有效材料",
  certificate_not_yet_valid: "该证照尚未生效，请申请人提供其他有效材料",
  // What the nodes check of each other.
  consent_invalid: "授权核验结果无法验证，请稍后重试；如仍失败请联系系统管理员",
  routing_loop: ROUTING,
  hop_limit_exceeded: ROUTING,
  receipt_signer_mismatch: "调阅回执验证未通过，请稍后重试；如仍失败请联系系统管理员",
  receipt_signature_invalid: "调阅回执验证未通过，请稍后重试；如仍失败请联系系统管理员",
  receipt_digest_mismatch: "调阅回执验证未通过，请稍后重试；如仍失败请联系系统管理员",
  envelope_wrong_recipient: PEER,
  envelope_signer_mismatch: PEER,
  envelope_signature_invalid: PEER,
  binding_signer_mismatch: "出示人设备登记信息验证失败，请让申请人重新登录后刷新亮证码",
  binding_signature_invalid: "出示人设备登记信息验证失败，请让申请人重新登录后刷新亮证码",
  service_token_missing: PEER,
  service_token_malformed: PEER,
  service_token_algorithm: PEER,
  service_token_unknown_key: PEER,
  service_token_signature_invalid: PEER,
  service_token_issuer_mismatch: PEER,
  service_token_wrong_audience: PEER,
  service_token_expired: PEER,
  service_token_replayed: PEER,
  // The seal, as the node or the browser checks it.
  seal_key_unknown: BAD_SEAL,
  seal_issuer_mismatch: BAD_SEAL,
  seal_key_not_valid: BAD_SEAL,
  seal_invalid: BAD_SEAL,
  // Tiers, when the title is missing (see `tierAdvice` for the usual case).
  tier_unreachable: "上级系统暂时无法访问，请稍后重试",
  tier_timeout: "上级系统响应超时，请稍后重试",
  tier_failed: "上级系统处理失败，请稍后重试",
  tier_answer_invalid: "上级系统返回的数据未通过验证，请稍后重试；如仍失败请联系系统管理员",
  tier_not_registered: "发证地系统尚未接入，无法调阅，请申请人提供纸质材料",
  // 一证通办 at the counter (counter-fund.js): the ID card step, the sharing platform, the card.
  resident_id_length: "身份证号应为18位，请核对申请人的身份证后重新输入",
  resident_id_charset: "身份证号只能是数字，最后一位可以是X，请核对后重新输入",
  resident_id_region: "身份证号前6位地区码无效，请核对后重新输入",
  resident_id_birth_date: "身份证号中的出生日期无效，请核对后重新输入",
  resident_id_check_digit: "身份证号校验位不符，可能输错了一位，请核对后重新输入（或读取身份证芯片）",
  consent_required: "请先向申请人说明查询内容，取得同意后勾选“申请人已同意查询共享数据”",
  applicant_required: "请先在“一证通办”中录入申请人身份证号并取得其同意，再扫描亮证码或查询共享数据",
  applicant_exists: "本办件已录入申请人，如需更换申请人请受理新的办件",
  certificate_not_applicants: "该证照不属于申请人本人或其配偶，不能用于本办件，请让申请人出示本人的证照",
  matter_without_sharing: "本事项不使用共享平台数据，请刷新页面",
  sharing_not_queried: "请先查询共享数据，再让申请人确认",
  sharing_kind_invalid: "确认的记录类别有误，请刷新页面后重试",
  sharing_record_unknown: "共享平台未返回该记录，请重新查询共享数据后再确认",
  sharing_platform_unavailable: "本级系统未接入省级共享平台，请申请人提供纸质购房发票和契税完税凭证",
  debit_card_invalid: "银行卡号有误，请核对申请人I类借记卡上的16至19位卡号",
  bank_invalid: "请填写开户银行，如：中国工商银行漯河分行",
  fund_case_incomplete: "请先完成共享数据确认并登记I类借记卡后再办结",
  // The fund centre's back office (review.js).
  status_invalid: "列表状态参数有误，请刷新页面",
  application_not_found: "未找到该申请，或该申请不属于本部门，请返回列表刷新",
  upload_not_found: "未找到该照片，请联系系统管理员",
  decision_invalid: "审核结论无效，请刷新页面后重新选择通过或不通过",
  reason_required: "请填写不通过原因，原因将告知申请人",
  reason_too_long: "不通过原因不超过500字，请删减后再提交",
  decision_exists: "该申请已审核，不能重复审核，请返回列表查看最新状态",
});

/** Which tier a region code is: 100000 national, XX0000 province, XXXX00 city. */
function tierOf(region) {
  if (region === "100000") return "国家级系统";
  if (/^\d{2}0000$/.test(region)) return "省级系统";
  if (/^\d{4}00$/.test(region)) return "市级系统";
  return "上级系统";
}

const TIER = {
  tier_unreachable: { what: "暂时无法访问", next: "请稍后重试", re: /^(.+?)暂时无法访问/ },
  tier_timeout: { what: "响应超时", next: "请稍后重试", re: /^(.+?)响应超时/ },
  tier_failed: { what: "处理失败", next: "请稍后重试", re: /^(.+?)处理失败/ },
  tier_answer_invalid: {
    what: "返回的数据未通过验证",
    next: "请稍后重试；如仍失败请联系系统管理员",
    re: /^(.+?)返回的数据未通过验证/,
  },
  tier_not_registered: {
    what: "尚未接入",
    next: "无法调阅，请申请人提供纸质材料",
    re: /^未登记(.+?)，/,
  },
};

/** Whether trying the same code again later can help (the code was not consumed). */
export function retryable(err) {
  return err instanceof Problem &&
    (err.code in TIER && err.code !== "tier_not_registered" ||
      ["network_unreachable", "request_timeout", "internal"].includes(err.code));
}

/**
 * The clerk's advice for a failure: `{ text, more }`. For a tier failure the sentence names
 * the tier's level (省级系统暂时无法访问，请稍后重试) and `more` names the node from the
 * server's title; everything else goes through `explain`.
 */
export function counterAdvice(err) {
  const t = err instanceof Problem ? TIER[err.code] : null;
  if (!t) return { text: explain(err), more: null };
  const region = /region (\d{6})/.exec(err.detail ?? "")?.[1] ?? "";
  const name = t.re.exec(err.title ?? "")?.[1];
  return {
    text: `${tierOf(region)}${t.what}，${t.next}`,
    more: name ? `出现问题的节点：${name}${region ? `（${region}）` : ""}` : null,
  };
}
