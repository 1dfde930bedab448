export {
  buildTemplateContext,
  buildMacros,
  bindArgs,
  templateDateValue,
  TemplateDateTime,
  TemplateDate,
  TemplateConnection,
  VariableAccessor,
  ConnectionAccessor,
  DagView,
  TaskView,
  TaskInstanceView,
  DagRunView,
  GETATTR,
} from './context.ts';
export type { ConnectionView, TemplateContextInput } from './context.ts';
export { renderTemplate, renderTemplateFields, TemplateRenderError, pyStr } from './render.ts';
