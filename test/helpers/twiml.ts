// Parses TwiML into a small tree so tests assert verbs and attributes, not strings.
import { DOMParser, type Element } from '@xmldom/xmldom';

export interface TwimlNode {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: TwimlNode[];
}

/** Parses a TwiML document; throws unless its root is <Response>. */
export function parseTwiml(xml: string): TwimlNode {
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, message) => void (level !== 'warning' && errors.push(message)) }).parseFromString(xml, 'text/xml');
  if (errors.length > 0) throw new Error(`invalid XML: ${errors.join('; ')}`);
  const root = doc.documentElement;
  if (!root || root.nodeName !== 'Response') throw new Error(`TwiML root is ${root?.nodeName}, expected Response`);
  const convert = (el: Element): TwimlNode => {
    const attrs: Record<string, string> = {};
    for (let i = 0; i < el.attributes.length; i += 1) {
      const a = el.attributes.item(i)!;
      attrs[a.name] = a.value;
    }
    const children: TwimlNode[] = [];
    let text = '';
    for (let n = el.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 1) children.push(convert(n as Element));
      else if (n.nodeType === 3 || n.nodeType === 4) text += n.nodeValue ?? '';
    }
    return { name: el.nodeName, attrs, text: text.trim(), children };
  };
  return convert(root);
}

/** Finds the first node named `name` anywhere below `node`. */
export function find(node: TwimlNode, name: string): TwimlNode | undefined {
  for (const child of node.children) {
    if (child.name === name) return child;
    const deeper = find(child, name);
    if (deeper) return deeper;
  }
  return undefined;
}
