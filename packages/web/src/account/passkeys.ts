import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/browser';
import { ApiError, call, get, post } from '../api.js';

/** A passkey as the server lists it. */
export interface PasskeyView {
  id: string;
  label: string;
  transports: string[];
  deviceType: string;
  backedUp: boolean;
  createdAt: number;
  lastUsedAt: number | null;
}

/** Whether this browser's trust window is open (see the sign-in screen). */
export interface TrustState {
  trusted: boolean;
  expiresAt: number | null;
}

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

/** Sign in with a discoverable passkey, naming no user: the server sets the session and trust cookies. */
export async function signInWithPasskey(): Promise<void> {
  const [{ startAuthentication }, optionsJSON] = await Promise.all([
    webauthn(),
    post<PublicKeyCredentialRequestOptionsJSON>('/api/auth/passkeys/authentication/options'),
  ]);
  let response: AuthenticationResponseJSON;
  try {
    response = await startAuthentication({ optionsJSON });
  } catch (err) {
    throw ceremonyError(err, 'sign-in');
  }
  await post('/api/auth/passkeys/authentication/verify', { response: { ...response, clientExtensionResults: {} } });
}

/** Enrol a new passkey for the signed-in user (this browser becomes trusted for 30 days). */
export async function addPasskey(label: string): Promise<PasskeyView> {
  const [{ startRegistration }, optionsJSON] = await Promise.all([
    webauthn(),
    post<PublicKeyCredentialCreationOptionsJSON>('/api/auth/passkeys/registration/options'),
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
  return (await post<{ passkey: PasskeyView }>('/api/auth/passkeys/registration/verify', body)).passkey;
}

export async function listPasskeys(): Promise<PasskeyView[]> {
  return (await get<{ passkeys: PasskeyView[] }>('/api/auth/passkeys')).passkeys;
}

export function removePasskey(id: string): Promise<void> {
  return call<undefined>('DELETE', `/api/auth/passkeys/${encodeURIComponent(id)}`);
}

export function trustState(): Promise<TrustState> {
  return get<TrustState>('/api/auth/passkeys/trust');
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
