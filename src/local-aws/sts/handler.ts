/**
 * STS over the query protocol (form POST, XML responses). AssumeRole issues
 * temporary credentials and remembers them, so GetCallerIdentity signed with
 * those keys answers with the assumed-role ARN as AWS does: that is how the
 * runtime's role connections can check which identity they ended up with.
 */
import { AwsError, xmlEscape } from '../errors.ts';
import { randomHex } from '../util.ts';

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

interface Session {
  arn: string;
  userId: string;
  expiresAt: number;
}

export class StsService {
  private sessions = new Map<string, Session>();

  constructor(
    private readonly accountId: string,
    private readonly region: string,
  ) {}

  handle(action: string, params: URLSearchParams, accessKeyId: string | undefined, requestId: string): string {
    const meta = `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`;
    switch (action) {
      case 'GetCallerIdentity': {
        const s = accessKeyId ? this.sessions.get(accessKeyId) : undefined;
        const arn = s && s.expiresAt > Date.now() ? s.arn : `arn:aws:iam::${this.accountId}:root`;
        const userId = s ? s.userId : this.accountId;
        return `<GetCallerIdentityResponse xmlns="${XMLNS}"><GetCallerIdentityResult><Arn>${xmlEscape(arn)}</Arn><UserId>${xmlEscape(userId)}</UserId><Account>${this.accountId}</Account></GetCallerIdentityResult>${meta}</GetCallerIdentityResponse>`;
      }
      case 'AssumeRole': {
        const roleArn = params.get('RoleArn');
        const sessionName = params.get('RoleSessionName');
        const errors: string[] = [];
        if (!roleArn) errors.push("Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
        if (!sessionName) errors.push("Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null");
        if (errors.length)
          throw new AwsError('ValidationError', `${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`);
        const m = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(roleArn!);
        if (!m || roleArn!.length < 20) throw new AwsError('ValidationError', `${roleArn} is invalid`);
        if (!/^[\w+=,.@-]{2,64}$/.test(sessionName!)) {
          throw new AwsError(
            'ValidationError',
            `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
          );
        }
        const duration = params.has('DurationSeconds') ? Number(params.get('DurationSeconds')) : 3600;
        if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
          throw new AwsError(
            'ValidationError',
            `1 validation error detected: Value '${params.get('DurationSeconds')}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
          );
        }
        const accessKey = `ASIA${randomHex(8).toUpperCase()}`;
        const secret = randomHex(20);
        const token = Buffer.from(`local-aws-session:${randomHex(32)}`).toString('base64');
        const roleId = `AROA${randomHex(8).toUpperCase()}`;
        const arn = `arn:aws:sts::${m[1]}:assumed-role/${m[2]}/${sessionName}`;
        const expiresAt = Date.now() + duration * 1000;
        this.sessions.set(accessKey, { arn, userId: `${roleId}:${sessionName}`, expiresAt });
        const exp = new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
        return (
          `<AssumeRoleResponse xmlns="${XMLNS}"><AssumeRoleResult><Credentials><AccessKeyId>${accessKey}</AccessKeyId><SecretAccessKey>${secret}</SecretAccessKey>` +
          `<SessionToken>${token}</SessionToken><Expiration>${exp}</Expiration></Credentials>` +
          `<AssumedRoleUser><AssumedRoleId>${roleId}:${xmlEscape(sessionName!)}</AssumedRoleId><Arn>${xmlEscape(arn)}</Arn></AssumedRoleUser>` +
          `<PackedPolicySize>0</PackedPolicySize><SourceIdentity>${xmlEscape(params.get('SourceIdentity') ?? '')}</SourceIdentity></AssumeRoleResult>${meta}</AssumeRoleResponse>`
        );
      }
      case 'GetSessionToken': {
        const accessKey = `ASIA${randomHex(8).toUpperCase()}`;
        const exp = new Date(Date.now() + 12 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        return `<GetSessionTokenResponse xmlns="${XMLNS}"><GetSessionTokenResult><Credentials><AccessKeyId>${accessKey}</AccessKeyId><SecretAccessKey>${randomHex(20)}</SecretAccessKey><SessionToken>${randomHex(32)}</SessionToken><Expiration>${exp}</Expiration></Credentials></GetSessionTokenResult>${meta}</GetSessionTokenResponse>`;
      }
    }
    void this.region;
    throw new AwsError('InvalidAction', `Could not find operation ${action} for version 2011-06-15`);
  }
}

export const STS_XMLNS = XMLNS;
