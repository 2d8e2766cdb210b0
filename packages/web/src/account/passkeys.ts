import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/browser';
import type { PasskeyView, TrustState } from '@fabric/protocol';
import { api, ApiError } from '../api.js';

export type { PasskeyView, TrustState };

/**
 * WebAuthn exists here: a browser that has it and a secure context
 * (https, or http://localhost). Where it is missing the passkey buttons are
 * not shown at all.
 */
export function passkeysSupported(): boolean {
  return typeof window !== 'undefined' && typeof window.PublicKeyCredential === 'function';
}

/** @simplewebauthn/browser, loaded on first use so the first page load does not pay for it. */
const webauthn = () => import('@simplewebauthn/browser');

/**
 * Ceremony options, made by @simplewebauthn/server for this browser library:
 * the contract names only their challenge and passes the rest through.
 */
function ceremonyOptions<T>(options: Promise<{ challenge: string }>): Promise<T> {
  return options as Promise<unknown> as Promise<T>;
}

/** Sign in with a discoverable passkey, naming no user: the server sets the session and trust cookies. */
export async function signInWithPasskey(): Promise<void> {
  const [{ startAuthentication }, optionsJSON] = await Promise.all([
    webauthn(),
    ceremonyOptions<PublicKeyCredentialRequestOptionsJSON>(api.passkeyAuthenticationOptions()),
  ]);
  let response: AuthenticationResponseJSON;
  try {
    response = await startAuthentication({ optionsJSON });
  } catch (err) {
    throw ceremonyError(err, 'sign-in');
  }
  await api.passkeyAuthenticationVerify({ body: { response: { ...response, clientExtensionResults: {} } } });
}

/** Enrol a new passkey for the signed-in user (this browser becomes trusted for 30 days). */
export async function addPasskey(label: string): Promise<PasskeyView> {
  const [{ startRegistration }, optionsJSON] = await Promise.all([
    webauthn(),
    ceremonyOptions<PublicKeyCredentialCreationOptionsJSON>(api.passkeyRegistrationOptions()),
  ]);
  let response: RegistrationResponseJSON;
  try {
    response = await startRegistration({ optionsJSON });
  } catch (err) {
    throw ceremonyError(err, 'enrolment');
  }
  // Extension outputs (PRF and the like) are the browser's business, never the server's.
  const body = {
    response: { ...response, clientExtensionResults: {} },
    ...(label.trim() ? { label: label.trim() } : {}),
  };
  return (await api.passkeyRegistrationVerify({ body })).passkey;
}

export async function listPasskeys(): Promise<PasskeyView[]> {
  return (await api.listPasskeys()).passkeys;
}

export function removePasskey(id: string): Promise<void> {
  return api.deletePasskey({ params: { id } });
}

export function trustState(): Promise<TrustState> {
  return api.passkeyTrust();
}

/** What a failed `navigator.credentials` call means for the person holding the phone. */
function ceremonyError(err: unknown, what: 'sign-in' | 'enrolment'): Error {
  const e = err as { name?: string; code?: string; message?: string; cause?: { name?: string } };
  const name = e.cause?.name ?? e.name;
  if (e.code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || name === 'InvalidStateError') {
    return new Error('this authenticator already holds a passkey for your account');
  }
  if (name === 'NotAllowedError' || e.code === 'ERROR_CEREMONY_ABORTED') {
    return new Error(`passkey ${what} was cancelled or timed out; try again`);
  }
  if (err instanceof ApiError) return err;
  return new Error(`passkey ${what} failed: ${e.message ?? String(err)}`);
}
