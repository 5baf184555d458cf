// The agent directory (who the agents are, for routing, pages and webhooks) and the accounts behind it (sign-in,
// the admin page, the CLI). Backed by the agents collection. The directory (`all`) is read through its stamp
// (models/stamped-read.ts): a change made by one app instance (or the CLI) changes the stamp, and every instance's
// next read sees it.
import { unfitText } from '../contact-center/plain-text';
import { BusyError, HttpError, isDuplicateKey, StoreUnavailableError, withDeadline } from '../errors';
import { createLease } from '../models/lock';
import { stampedRead } from '../models/stamped-read';
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verifyPassword } from '../auth/passwords';
import { AGENT_ID_PATTERN, AGENT_ROLES, SIGN_IN_NAME_PATTERN, type AgentModel, type AgentRecord, type AgentRole } from '../models/agent';

export type { AgentRole } from '../models/agent';
export { AGENT_ROLES } from '../models/agent';

export interface Agent {
  id: string;
  name: string;
  role: AgentRole;
  disabled: boolean;
}

/** What routing, presence, pages and webhooks read. */
export interface AgentDirectory {
  /** Every agent, enabled and disabled, in sign-in-name order. */
  all(): Promise<Agent[]>;
  find(id: string): Promise<Agent | undefined>;
}

export interface NewAgent {
  /** Defaults to the sign-in name (with anything a Twilio identity cannot hold replaced by `-`). */
  id?: string;
  name: string;
  login: string;
  role?: AgentRole;
  /** Absent: the account cannot sign in with a password until one is set. */
  password?: string;
}

export interface AgentChange {
  name?: string;
  role?: AgentRole;
  disabled?: boolean;
}

export interface ChangeOptions {
  /** Who asks (the admin page): they must still be an enabled admin when the change is made. */
  by?: string;
  /** Skip the last-admin rule: only for accounts nobody can sign in as (see auth/demo.ts). */
  evenTheLastAdmin?: boolean;
}

/** The directory plus what the admin page, the CLI and sign-in do to accounts. */
export interface AgentAccounts extends AgentDirectory {
  add(input: NewAgent): Promise<Agent>;
  /** Adds the agent unless an agent with that id exists (demo seeding; safe when several instances do it at once). */
  addIfAbsent(input: NewAgent): Promise<boolean>;
  /**
   * Renames, sets the role, disables or enables. Refused with 409 when it would leave no enabled admin; with `by`,
   * refused with 403 unless that agent is still an enabled admin. Changes to accounts are made one at a time, across
   * processes, so the rule holds however many arrive at once.
   */
  change(id: string, change: AgentChange, options?: ChangeOptions): Promise<Agent>;
  setPassword(id: string, password: string): Promise<void>;
  /** The enabled agent with this sign-in name and password, or undefined (same time spent either way). */
  authenticate(login: string, password: string): Promise<Agent | undefined>;
  /** Sign-in names of agents, by id (for the admin page). */
  logins(): Promise<Map<string, string>>;
  countEnabledAdmins(): Promise<number>;
  /** Agents that cannot sign in with a password (demo agents). */
  withoutPassword(): Promise<Agent[]>;
}

/** A display name as stored: trimmed, 1 to 100 characters, no control or text-direction characters. */
function checkedName(raw: string): string {
  const name = raw.trim();
  if (name.length < 1 || name.length > 100) throw new HttpError(400, 'The display name must have 1 to 100 characters.');
  const unfit = unfitText(name, 'The display name');
  if (unfit) throw new HttpError(400, unfit);
  return name;
}

/** Validation messages people see on the admin page and in the CLI. */
export function checkPassword(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `The password must have at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.length > MAX_PASSWORD_LENGTH) return `The password may have at most ${MAX_PASSWORD_LENGTH} characters.`;
  return undefined;
}

/** The canonical form of a sign-in name. */
export function normaliseLogin(login: string): string {
  return login.trim().toLowerCase();
}

function toAgent(record: Pick<AgentRecord, '_id' | 'name' | 'role' | 'disabled'>): Agent {
  return { id: record._id, name: record.name, role: record.role, disabled: record.disabled };
}

/**
 * Ids that already mean something where an agent id goes: a cold transfer `to: "queue"` sends the customer back to the
 * waiting line, so an agent called queue could never be transferred to. Compared without case, to avoid look-alikes.
 */
export const RESERVED_AGENT_IDS: ReadonlySet<string> = new Set(['queue']);

const PUBLIC_FIELDS = { _id: 1, name: 1, role: 1, disabled: 1, login: 1 } as const;

/** The accounts over the agents collection. `dbTimeoutMs` bounds every database operation. */
export function createAgentAccounts(model: AgentModel, options: { dbTimeoutMs?: number } = {}): AgentAccounts {
  const dbTimeoutMs = options.dbTimeoutMs ?? 5000;


  async function store<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await withDeadline(operation(), dbTimeoutMs, () => new Error(`no answer within ${dbTimeoutMs} ms`));
    } catch (err) {
      if (isDuplicateKey(err)) throw err;
      throw new StoreUnavailableError(err);
    }
  }

  // Every write to an existing account goes through one lease (per accounts collection, shared by every app instance
  // and the CLI). The last-admin rule is a count followed by a write, and FerretDB 1.x's updates are not atomic: two
  // admins demoting each other at once both counted two admins and left none. Under the lease the count and the write
  // are one step. The lease's time covers the few database operations a change makes, each bounded by dbTimeoutMs.
  const accountChanges = createLease(model.db, `accounts:${model.collection.collectionName}`, {
    ttlMs: Math.max(30_000, 6 * dbTimeoutMs),
    waitMs: 10_000,
    whenBusy: () => new BusyError('Other changes to accounts are under way: try again in a moment.', 2),
    guard: (operation) => store(operation),
  });
  // Every page and routing pass reads the directory: callers at the same moment share one read, and the collection is
  // read again only when its stamp changed (each write below changes it, once the write has landed).
  const directory = stampedRead(
    model.db,
    `directory:${model.collection.collectionName}`,
    async () => (await store(() => model.find({}, PUBLIC_FIELDS).sort({ login: 1 }).lean<AgentRecord[]>().exec())).map(toAgent),
    { guard: store },
  );

  async function findRecord(id: string): Promise<AgentRecord | undefined> {
    if (!AGENT_ID_PATTERN.test(id)) return undefined;
    return (await store(() => model.findById(id).lean<AgentRecord>().exec())) ?? undefined;
  }

  function countEnabledAdmins(): Promise<number> {
    return store(() => model.countDocuments({ role: 'admin', disabled: false }).exec());
  }

  async function validate(input: NewAgent): Promise<Omit<AgentRecord, 'createdAt' | 'updatedAt'>> {
    const login = normaliseLogin(input.login);
    if (!SIGN_IN_NAME_PATTERN.test(login)) throw new HttpError(400, 'The sign-in name may use letters, digits and . _ - @ (up to 64 characters), starting with a letter or digit.');
    // Ids are lowercase, like sign-in names: 'Ana' and 'ana' would be two agents that people cannot tell apart, and
    // only an exact _id is exclusive on insert (FerretDB), so the id is stored in one case.
    const typed = input.id ?? login.replace(/[^A-Za-z0-9_-]/g, '-');
    if (!AGENT_ID_PATTERN.test(typed)) throw new HttpError(400, 'The agent id may use letters, digits, _ and - (up to 64 characters).');
    const id = typed.toLowerCase();
    if (RESERVED_AGENT_IDS.has(id)) throw new HttpError(400, `The agent id ${typed} is reserved (in a transfer, "queue" means the waiting line): give this agent another id.`);
    const name = checkedName(input.name);
    const role = input.role ?? 'agent';
    if (!AGENT_ROLES.includes(role)) throw new HttpError(400, `The role must be one of ${AGENT_ROLES.join(', ')}.`);
    if (input.password !== undefined) {
      const problem = checkPassword(input.password);
      if (problem) throw new HttpError(400, problem);
    }
    const passwordHash = input.password === undefined ? undefined : await hashPassword(input.password);
    return { _id: id, name, login, role, disabled: false, ...(passwordHash ? { passwordHash } : {}) };
  }

  async function insert(record: Omit<AgentRecord, 'createdAt' | 'updatedAt'>): Promise<'added' | 'id-taken' | 'login-taken'> {
    // FerretDB 1.x does not promise a unique secondary index under concurrency; the check below covers the usual case,
    // the unique index covers MongoDB, and the _id insert is exclusive everywhere.
    if (await store(() => model.exists({ login: record.login }).exec())) return 'login-taken';
    try {
      await store(() => model.create(record));
      await directory.changed();
      return 'added';
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      return (await store(() => model.exists({ _id: record._id }).exec())) ? 'id-taken' : 'login-taken';
    }
  }

  return {
    all: directory.read,

    // Every agent's callback asks (is this agent known?): from the directory, a stamp lookup the callers of a moment share.
    async find(id) {
      if (!AGENT_ID_PATTERN.test(id)) return undefined;
      return (await directory.read()).find((agent) => agent.id === id);
    },

    async add(input) {
      const record = await validate(input);
      const outcome = await insert(record);
      if (outcome === 'id-taken') throw new HttpError(409, `There is already an agent with the id ${record._id}.`);
      if (outcome === 'login-taken') throw new HttpError(409, `The sign-in name ${record.login} is taken.`);
      return toAgent(record);
    },

    async addIfAbsent(input) {
      const record = await validate(input);
      return (await insert(record)) === 'added';
    },

    async change(id, change, changeOptions = {}) {
      const set: Partial<AgentRecord> = {};
      if (change.name !== undefined) {
        set.name = checkedName(change.name);
      }
      if (change.role !== undefined) {
        if (!AGENT_ROLES.includes(change.role)) throw new HttpError(400, `The role must be one of ${AGENT_ROLES.join(', ')}.`);
        set.role = change.role;
      }
      if (change.disabled !== undefined) set.disabled = change.disabled;
      return accountChanges.run(async () => {
        const existing = await findRecord(id);
        if (!existing) throw new HttpError(404, `Unknown agent: ${id}`);
        if (changeOptions.by !== undefined) {
          const actor = await findRecord(changeOptions.by);
          if (!actor || actor.disabled || actor.role !== 'admin') throw new HttpError(403, 'Only admin accounts may do this, and yours is no longer one.');
        }
        const losesAdmin = existing.role === 'admin' && !existing.disabled && ((set.role !== undefined && set.role !== 'admin') || set.disabled === true);
        if (losesAdmin && !changeOptions.evenTheLastAdmin && (await countEnabledAdmins()) <= 1) throw new HttpError(409, 'This is the last enabled admin: make another admin first.');
        await store(() => model.updateOne({ _id: id }, { $set: set }).exec());
        await directory.changed();
        return toAgent({ ...existing, ...set });
      });
    },

    async setPassword(id, password) {
      const problem = checkPassword(password);
      if (problem) throw new HttpError(400, problem);
      if (!(await findRecord(id))) throw new HttpError(404, `Unknown agent: ${id}`);
      const passwordHash = await hashPassword(password);
      await accountChanges.run(() => store(() => model.updateOne({ _id: id }, { $set: { passwordHash } }).exec()));
    },

    async authenticate(login, password) {
      const name = normaliseLogin(login);
      const record = SIGN_IN_NAME_PATTERN.test(name) ? await store(() => model.findOne({ login: name }).lean<AgentRecord>().exec()) : null;
      const ok = await verifyPassword(password, record?.passwordHash);
      return ok && record && !record.disabled ? toAgent(record) : undefined;
    },

    async logins() {
      const records = await store(() => model.find({}, { _id: 1, login: 1 }).lean<AgentRecord[]>().exec());
      return new Map(records.map((r) => [r._id, r.login]));
    },

    countEnabledAdmins,

    async withoutPassword() {
      const records = await store(() => model.find({ passwordHash: { $exists: false } }, PUBLIC_FIELDS).lean<AgentRecord[]>().exec());
      return records.map(toAgent);
    },
  };
}

/** Identities as Twilio knows them: `client:<agentId>`. */
export function clientAddress(agentId: string): string {
  return `client:${agentId}`;
}
