// Resolves the IAM Identity Center portal base URL for a region, as the service's endpoint rules do.

/** One AWS partition, as the official endpoint rules describe it. */
interface Partition {
  readonly id: string;
  readonly regionRegex: RegExp;
  readonly dnsSuffix: string;
  readonly dualStackDnsSuffix: string;
}

// Order matters only for the regex fallback: the first partition whose pattern matches wins,
// exactly as in the SDK's `aws.partition` function. Unknown regions fall back to `aws`.
const PARTITIONS: readonly Partition[] = [
  {
    id: 'aws',
    regionRegex: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/,
    dnsSuffix: 'amazonaws.com',
    dualStackDnsSuffix: 'api.aws',
  },
  {
    id: 'aws-cn',
    regionRegex: /^cn-\w+-\d+$/,
    dnsSuffix: 'amazonaws.com.cn',
    dualStackDnsSuffix: 'api.amazonwebservices.com.cn',
  },
  {
    id: 'aws-eusc',
    regionRegex: /^eusc-(de)-\w+-\d+$/,
    dnsSuffix: 'amazonaws.eu',
    dualStackDnsSuffix: 'api.amazonwebservices.eu',
  },
  {
    id: 'aws-iso',
    regionRegex: /^us-iso-\w+-\d+$/,
    dnsSuffix: 'c2s.ic.gov',
    dualStackDnsSuffix: 'api.aws.ic.gov',
  },
  {
    id: 'aws-iso-b',
    regionRegex: /^us-isob-\w+-\d+$/,
    dnsSuffix: 'sc2s.sgov.gov',
    dualStackDnsSuffix: 'api.aws.scloud',
  },
  {
    id: 'aws-iso-e',
    regionRegex: /^eu-isoe-\w+-\d+$/,
    dnsSuffix: 'cloud.adc-e.uk',
    dualStackDnsSuffix: 'api.cloud-aws.adc-e.uk',
  },
  {
    id: 'aws-iso-f',
    regionRegex: /^us-isof-\w+-\d+$/,
    dnsSuffix: 'csp.hci.ic.gov',
    dualStackDnsSuffix: 'api.aws.hci.ic.gov',
  },
  {
    id: 'aws-us-gov',
    regionRegex: /^us-gov-\w+-\d+$/,
    dnsSuffix: 'amazonaws.com',
    dualStackDnsSuffix: 'api.aws',
  },
];

// Global pseudo-regions listed by the partition data; the SDK matches them by name before the regexes.
const NAMED_REGIONS: ReadonlyMap<string, string> = new Map([
  ['aws-global', 'aws'],
  ['aws-cn-global', 'aws-cn'],
  ['aws-iso-global', 'aws-iso'],
  ['aws-iso-b-global', 'aws-iso-b'],
  ['aws-iso-e-global', 'aws-iso-e'],
  ['aws-iso-f-global', 'aws-iso-f'],
  ['aws-us-gov-global', 'aws-us-gov'],
]);

// A region becomes part of a host name, so it must be one DNS label: this is what keeps a
// region read from a session from steering the call to another host.
const REGION_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** True when `region` can safely stand in a host name (one lower-case DNS label). */
export function isValidRegion(region: string): boolean {
  return REGION_LABEL.test(region);
}

function partitionOf(region: string): Partition {
  const byName = NAMED_REGIONS.get(region);
  const found =
    byName === undefined ? PARTITIONS.find((p) => p.regionRegex.test(region)) : PARTITIONS.find((p) => p.id === byName);
  // The endpoint rules fall back to the `aws` partition for regions they do not know.
  return found ?? (PARTITIONS[0] as Partition);
}

export interface EndpointVariant {
  readonly useFips: boolean;
  readonly useDualStack: boolean;
}

/**
 * The portal base URL (no trailing slash) for `region`, following the service's endpoint rules:
 * every partition supports FIPS and dual-stack; `aws-us-gov` FIPS without dual-stack is the plain
 * `portal.sso.{region}.amazonaws.com` host.
 */
export function portalEndpoint(region: string, variant: EndpointVariant): string {
  const p = partitionOf(region);
  if (variant.useFips && variant.useDualStack) {
    return `https://portal.sso-fips.${region}.${p.dualStackDnsSuffix}`;
  }
  if (variant.useFips) {
    if (p.id === 'aws-us-gov') return `https://portal.sso.${region}.amazonaws.com`;
    return `https://portal.sso-fips.${region}.${p.dnsSuffix}`;
  }
  if (variant.useDualStack) return `https://portal.sso.${region}.${p.dualStackDnsSuffix}`;
  return `https://portal.sso.${region}.${p.dnsSuffix}`;
}

/** A region as read from a session, made ready for an endpoint: SDK pseudo-regions resolved. */
export interface SessionRegion {
  readonly region: string;
  /** The session named a FIPS pseudo-region (`fips-us-east-1`, `us-east-1-fips`). */
  readonly fips: boolean;
}

/**
 * Normalises a region read from a session as the SDK's region resolver does: `fips-…` and `…-fips`
 * pseudo-regions become the region with FIPS on, and (beyond the SDK, which would send them as
 * they are) case and surrounding blanks are ignored, since DNS ignores them too. Undefined when
 * what remains cannot be a host label.
 */
export function normaliseSessionRegion(raw: unknown): SessionRegion | undefined {
  if (typeof raw !== 'string') return undefined;
  let region = raw.trim().toLowerCase();
  let fips = false;
  if (region === 'fips-aws-global' || region === 'aws-fips') {
    region = 'us-east-1';
    fips = true;
  } else if (region.startsWith('fips-') || region.endsWith('-fips')) {
    region = region.replace(/fips-(dkr-|prod-)?|-fips/, '');
    fips = true;
  }
  return isValidRegion(region) ? { region, fips } : undefined;
}
